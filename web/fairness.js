// Recomputes a Packvault draw in the browser, written from docs/FAIRNESS.md alone (sections 1-6, 9): a second,
// independent implementation of the spec. WebCrypto for SHA-256 and HMAC-SHA256, BigInt for the 256-bit
// rejection sampling; no floating point. verifyProof(proof) -> {verdict: "match"|"mismatch"|"incomplete", problems}.

const encoder = new TextEncoder()

export function hexToBytes (hex) {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-f]*$/.test(hex)) throw new Error('not lowercase hex')
  const bytes = new Uint8Array(hex.length / 2)
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  return bytes
}

export function bytesToHex (bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

// Section 2: keys sorted by code point, no whitespace, non-ASCII as itself, integers in decimal.
export function canonicalJson (value) {
  if (value === null || typeof value === 'boolean') return JSON.stringify(value)
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`canonical JSON here holds integers only, not ${value}`)
    return String(value)
  }
  if (typeof value === 'bigint') return value.toString()
  if (typeof value === 'string') return JSON.stringify(value)
  if (Array.isArray(value)) return '[' + value.map(canonicalJson).join(',') + ']'
  const keys = Object.keys(value).sort(byCodePoint)
  return '{' + keys.map((k) => JSON.stringify(k) + ':' + canonicalJson(value[k])).join(',') + '}'
}

function byCodePoint (a, b) {
  const x = Array.from(a, (c) => c.codePointAt(0))
  const y = Array.from(b, (c) => c.codePointAt(0))
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i]
  return x.length - y.length
}

export async function sha256Hex (bytes) {
  return bytesToHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)))
}

// Section 4: random_below(seed, context, n).
export async function randomBelow (seedBytes, context, n) {
  const bound = BigInt(n)
  if (bound <= 0n) throw new Error('n must be positive')
  const space = 1n << 256n
  const limit = space - (space % bound)
  const key = await crypto.subtle.importKey('raw', seedBytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  for (let k = 0; ; k++) {
    const message = encoder.encode(canonicalJson(['packvault-draw-v1', ...context, k]))
    const x = BigInt('0x' + bytesToHex(new Uint8Array(await crypto.subtle.sign('HMAC', key, message))))
    if (x < limit) return x % bound
  }
}

// Section 5: the items of one round, from its stock (item -> units left; absent = unlimited).
export async function drawOpening (oddsTable, serverSeed, clientSeed, openingId, round, stock) {
  const seed = hexToBytes(serverSeed)
  const remaining = { ...stock }
  const drawable = (item) => item.weight > 0 && (!(item.item_id in remaining) || remaining[item.item_id] > 0)
  const out = []
  let d = 0
  for (const slot of oddsTable.slots) {
    for (let c = 0; c < slot.count; c++) {
      const tiers = slot.tiers.filter(([tierId, ppm]) => ppm > 0 &&
        oddsTable.items.some((item) => item.tier_id === tierId && drawable(item)))
      if (tiers.length === 0) return null
      const total = tiers.reduce((sum, [, ppm]) => sum + BigInt(ppm), 0n)
      let r = await randomBelow(seed, [openingId, clientSeed, round, d, 'tier'], total)
      let running = 0n
      const [tierId] = tiers.find(([, ppm]) => (running += BigInt(ppm)) > r)
      const items = oddsTable.items.filter((item) => item.tier_id === tierId && drawable(item))
      const weights = items.reduce((sum, item) => sum + BigInt(item.weight), 0n)
      r = await randomBelow(seed, [openingId, clientSeed, round, d, 'item'], weights)
      running = 0n
      const item = items.find((each) => (running += BigInt(each.weight)) > r)
      out.push({ tier_id: tierId, item_id: item.item_id })
      if (item.item_id in remaining) remaining[item.item_id] -= 1
      d += 1
    }
  }
  return out
}

const sameItems = (a, b) => canonicalJson(a) === canonicalJson(b)

// Section 6: check an opening's public proof.
export async function verifyProof (proof) {
  const needed = ['opening_id', 'server_seed', 'server_seed_hash', 'client_seed', 'round', 'stock', 'odds_hash',
    'odds_table', 'items']
  const missing = needed.filter((name) => proof[name] === undefined || proof[name] === null)
  if (missing.length) return { verdict: 'incomplete', problems: [`the proof lacks ${missing.join(', ')}`] }
  const problems = []
  if (await sha256Hex(hexToBytes(proof.server_seed)) !== proof.server_seed_hash) {
    problems.push('sha256(server_seed) is not the committed server_seed_hash')
  }
  if (await sha256Hex(encoder.encode(canonicalJson(proof.odds_table))) !== proof.odds_hash) {
    problems.push('the odds table does not hash to odds_hash')
  }
  const drawn = await drawOpening(proof.odds_table, proof.server_seed, proof.client_seed, proof.draw_id ?? proof.opening_id,
    proof.round, proof.stock)
  if (!sameItems(drawn, proof.items)) problems.push('the items do not recompute from the seeds and the odds')
  if (proof.version >= 2) problems.push(...await checkVersion2(proof))
  if (proof.version === 3) problems.push(...await checkVersion3(proof))
  return { verdict: problems.length ? 'mismatch' : 'match', problems, items: drawn, warnings: version3Warnings(proof) }
}

async function checkVersion2 (proof) {
  const problems = []
  const committed = proof.stock_committed || {}
  for (const [item, units] of Object.entries(proof.stock)) {
    if (item in committed && units > committed[item]) problems.push(`${item}: stock ${units} exceeds the committed ${committed[item]}`)
  }
  const rounds = proof.abandoned_rounds || []
  const numbers = rounds.map((r) => r.round)
  if (canonicalJson(numbers) !== canonicalJson([...Array(proof.round).keys()])) {
    problems.push(`round ${proof.round} needs abandoned rounds 0..${proof.round - 1} on the record, found [${numbers}]`)
  }
  for (const abandoned of rounds) {
    const items = await drawOpening(proof.odds_table, proof.server_seed, proof.client_seed, proof.draw_id ?? proof.opening_id,
      abandoned.round, abandoned.stock)
    if (!sameItems(items, abandoned.items)) problems.push(`abandoned round ${abandoned.round} does not recompute`)
    const ids = new Set((items || []).map((i) => i.item_id))
    if (!abandoned.short || !Object.keys(abandoned.short).length || !Object.keys(abandoned.short).every((id) => ids.has(id))) {
      problems.push(`abandoned round ${abandoned.round} names no unit of its own draw that was gone`)
      continue
    }
    // Section 13.4: each short item was needed as often as drawn, had fewer units left, and the next round counts at most those.
    const index = rounds.indexOf(abandoned)
    const following = index + 1 < rounds.length ? rounds[index + 1].stock : proof.stock
    for (const [id, short] of Object.entries(abandoned.short)) {
      const needed = (items || []).filter((i) => i.item_id === id).length
      if (short.needed !== needed || !Number.isInteger(short.available) || short.available < 0 || short.available >= needed) {
        problems.push(`abandoned round ${abandoned.round}: ${id} was not short as recorded`)
      } else if (!Number.isInteger(following[id]) || following[id] > short.available) {
        problems.push(`abandoned round ${abandoned.round} says ${short.available} of ${id} were left, but the next round counts ${following[id]}`)
      }
    }
  }
  if (proof.item_definitions && proof.items_hash) {
    const hash = await sha256Hex(encoder.encode(canonicalJson(proof.item_definitions)))
    if (hash !== proof.items_hash) problems.push('the item definitions do not hash to items_hash')
    problems.push(...checkDelivered(proof))
  }
  problems.push(...await checkInclusion(proof))
  problems.push(...await checkBundle(proof))
  return problems
}

// Section 6: each delivered item is the committed definition of the item drawn, in draw order.
function checkDelivered (proof) {
  if (!proof.delivered) return []
  const definitions = Object.fromEntries(proof.item_definitions.map((d) => [d.item_id, d]))
  const problems = []
  proof.items.forEach((drawn, i) => {
    const delivered = proof.delivered[i]
    const definition = definitions[drawn.item_id]
    const same = delivered && definition && delivered.item_id === drawn.item_id &&
      Object.keys(delivered).every((field) => canonicalJson(delivered[field]) === canonicalJson(definition[field]))
    if (!same) problems.push(`delivered item ${i + 1} is not the committed definition of ${drawn.item_id}`)
  })
  return problems
}

// Section 9: the proof hashes to its leaf, and the leaf's path leads to the sealed hour's root. (Comparing that
// root with the one the API publishes for the hour is the caller's part.)
export async function checkInclusion (proof) {
  const inclusion = proof.inclusion
  if (!inclusion) return []
  const leaf = await leafOf(proof)
  if (leaf !== inclusion.leaf) return ['the proof does not hash to its leaf in the public record']
  return await rootFromPath(leaf, inclusion.path, inclusion.tree || 1) === inclusion.root ? [] : ['the inclusion path does not lead to the sealed root']
}

// Section 9: the leaf a public proof is recorded under (its published extras left out of the hash).
export async function leafOf (proof) {
  const left = { ...proof }
  for (const name of ['odds_table', 'item_definitions', 'delivered', 'inclusion', 'opened_at', 'pack_id', 'commitment']) delete left[name]
  if (left.scheme === 'seed-pair') left.server_seed = null  // revealed later, at rotation: hashed as null
  const proofHash = await sha256Hex(encoder.encode(canonicalJson(left)))
  return sha256Hex(encoder.encode(canonicalJson({
    opening_id: proof.opening_id, pack_id: proof.pack_id, opened_at: proof.opened_at, proof_hash: proofHash
  })))
}

// Section 13.5: the record receipt the buyer was handed at open, against the public proof: signed by the published
// quote key, this opening's, in the hour the proof now says, and the proof still hashing to its leaf.
export async function checkReceipt (proof, receipt, publishedKey) {
  const { signature, key, ...document } = receipt
  if (document.type !== 'packvault-record-receipt' || document.opening_id !== proof.opening_id) return ['the receipt is not a record receipt of this opening']
  const problems = []
  if (!signature || !key) problems.push('the receipt is not signed')
  else if (!await verifySignature(document, signature, key)) problems.push('the receipt\'s signature does not verify with its key')
  else if (publishedKey && key !== publishedKey) problems.push('the receipt was signed with another key than the one the API publishes')
  if (String(proof.opened_at).slice(0, 13) !== document.period) {
    problems.push(`your receipt puts this opening in the record of ${document.period}; the proof now says ${String(proof.opened_at).slice(0, 13)}: it was moved`)
  }
  if (await leafOf(proof) !== document.leaf) problems.push('the proof no longer hashes to the leaf on your receipt: it was changed after it was recorded')
  return problems
}

// Tree 1 (section 9): a node is sha256(left || right) over the raw 32-byte digests. Tree 2 (13.12): the leaf is
// first hashed as sha256(0x00 || leaf) and a node is sha256(0x01 || left || right). `side` says where the sibling goes.
export async function rootFromPath (leafHex, path, tree = 1) {
  const digest = async (bytes) => new Uint8Array(await crypto.subtle.digest('SHA-256', Uint8Array.from(bytes)))
  let node = tree >= 2 ? await digest([0, ...hexToBytes(leafHex)]) : hexToBytes(leafHex)
  for (const step of path) {
    const sibling = hexToBytes(step.hash)
    const pair = step.side === 'left' ? [...sibling, ...node] : [...node, ...sibling]
    node = await digest(tree >= 2 ? [1, ...pair] : pair)
  }
  return bytesToHex(node)
}

// FAIRNESS.md section 12: a bundle unit's opening id is UUIDv5(namespace, "<bundle_id>/<index>") (the lead, index 0,
// is the bundle id), and its server seed hash is the one the bundle committed to at its index.
export const BUNDLE_NAMESPACE = '2b7c1d4e-8f3a-4c6b-9e2d-5a1f0c3b7d91'

export async function unitOpeningId (bundleId, index) {
  if (index === 0) return bundleId
  const name = encoder.encode(`${bundleId}/${index}`)
  const namespace = hexToBytes(BUNDLE_NAMESPACE.replaceAll('-', ''))
  const input = new Uint8Array(namespace.length + name.length)
  input.set(namespace)
  input.set(name, namespace.length)
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-1', input)).slice(0, 16)
  digest[6] = (digest[6] & 0x0f) | 0x50
  digest[8] = (digest[8] & 0x3f) | 0x80
  const hex = bytesToHex(digest)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

async function checkBundle (proof) {
  const bundle = proof.bundle
  if (!bundle) return []
  const hashes = bundle.server_seed_hashes || []
  if (!Number.isInteger(bundle.index) || bundle.index < 0 || bundle.index >= hashes.length || hashes.length !== bundle.quantity) {
    return ['the bundle\'s index, quantity and committed seed hashes do not agree']
  }
  const problems = []
  if (await unitOpeningId(String(bundle.bundle_id), bundle.index) !== proof.opening_id) {
    problems.push(`unit ${bundle.index}'s opening id is not the one its bundle id fixes`)
  }
  if (hashes[bundle.index] !== proof.server_seed_hash) {
    problems.push(`unit ${bundle.index}'s server seed hash is not the one the bundle committed to`)
  }
  return problems
}

// FAIRNESS.md section 9 (the vault): each vault item the proof records is in the buyer's vault, names this opening,
// and both its own fields and its definition_hash hash like the committed definition of the item drawn at its place.
const DEFINITION_FIELDS = ['item_id', 'tier_id', 'name', 'nft_id', 'rarity', 'fmv', 'metadata']

export async function checkVault (proof, vaultItems, complete = true) {
  if (!proof.item_definitions) return []  // the proof commits to no definitions (a balance opening): nothing to hold
  const held = Object.fromEntries(vaultItems.map((item) => [item.vault_item_id, item]))
  const definitions = Object.fromEntries((proof.item_definitions || []).map((d) => [d.item_id, d]))
  const hash = async (value) => sha256Hex(encoder.encode(canonicalJson(value)))
  const problems = []
  for (const [n, id] of (proof.vault_item_ids || []).entries()) {
    const item = held[id]
    const drawn = proof.items[n]
    if (!item) {  // a partial page of a large vault may simply not reach it
      if (complete) problems.push(`vault item ${n} (${id}) is not in your vault`)
      continue
    }
    const mine = Object.fromEntries(DEFINITION_FIELDS.map((field) => [field, item[field] ?? null]))
    if (item.image_url) mine.image_url = item.image_url
    const expected = drawn && definitions[drawn.item_id] ? await hash([definitions[drawn.item_id]]) : null
    if (item.opening_id !== proof.opening_id || !expected || await hash([mine]) !== expected || item.definition_hash !== expected) {
      problems.push(`vault item ${n} (${id}) is not the definition this opening delivered`)
    }
  }
  return problems
}

// FAIRNESS.md section 13.2: a version 3 client seed is exactly canonical_json([entropy, purchase seed or null]).
export function clientSeedParts (clientSeed) {
  let parts = null
  try { parts = JSON.parse(clientSeed) } catch { return null }
  const ok = Array.isArray(parts) && parts.length === 2 && typeof parts[0] === 'string' && parts[0] !== '' &&
    (parts[1] === null || typeof parts[1] === 'string') && canonicalJson(parts) === clientSeed
  return ok ? parts : null
}

// Section 13.3: the signed commitment the public proof carries hashes to its quote_hash, is signed by its quote_key
// (Ed25519, base58) and is what the proof opened; the client seed carries the entropy and the purchase seed it names.
async function checkVersion3 (proof) {
  const parts = clientSeedParts(proof.client_seed)
  if (!parts) return ['the client seed is not canonical_json([entropy, purchase seed]): not a version 3 client seed']
  const problems = []
  const entropy = proof.entropy || {}
  if (entropy.value !== parts[0] || !entropy.source) problems.push('the client seed does not start with the entropy the proof names')
  const signed = proof.commitment
  if (!signed) return problems  // the buyer's own copy: the public proof carries the commitment
  const document = signed.commitment
  if (!document || await sha256Hex(encoder.encode(canonicalJson(document))) !== signed.quote_hash) {
    return [...problems, 'the commitment does not hash to its quote_hash']
  }
  if (signed.quote_signature && !await verifySignature(document, signed.quote_signature, signed.quote_key)) {
    problems.push('the commitment\'s signature does not verify with its quote_key')
  }
  const index = proof.bundle ? proof.bundle.index : null
  const unit = Number.isInteger(index) && (document.units || [])[index] ? document.units[index] : {}
  for (const name of ['opening_id', 'server_seed_hash', 'odds_version', 'odds_hash', 'stock_committed', 'items_hash']) {
    const expected = name in unit ? unit[name] : document[name]
    if (canonicalJson(proof[name] ?? null) !== canonicalJson(expected ?? null)) problems.push(`${name} differs from the signed commitment's`)
  }
  if (document.version !== 3 || document.entropy !== entropy.source) problems.push('the commitment does not name the version 3 rule and this entropy')
  if ((document.client_seed ?? null) !== parts[1]) problems.push('the purchase seed in the client seed is not the one the commitment names')
  if (proof.opened_at && !(String(document.quoted_at ?? '~') <= proof.opened_at)) problems.push('the commitment was made after the opening')
  return problems
}

function version3Warnings (proof) {
  if (proof.version !== 3) return []
  const found = []
  if (proof.commitment && !proof.commitment.quote_signature) found.push('the commitment is not signed (this deployment has no quote-signing key)')
  if (proof.commitment_on_chain === false) found.push('the payment\'s memo did not carry the quote hash: the commitment is not on chain')
  return found
}

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'

export function base58Decode (text) {
  let value = 0n
  for (const char of text) {
    const digit = BASE58.indexOf(char)
    if (digit < 0) throw new Error('not base58')
    value = value * 58n + BigInt(digit)
  }
  const bytes = []
  while (value > 0n) { bytes.unshift(Number(value & 0xffn)); value >>= 8n }
  for (const char of text) { if (char !== '1') break; bytes.unshift(0) }
  return Uint8Array.from(bytes)
}

export async function verifySignature (document, signature, key) {
  try {
    const publicKey = await crypto.subtle.importKey('raw', base58Decode(key), { name: 'Ed25519' }, false, ['verify'])
    return await crypto.subtle.verify({ name: 'Ed25519' }, publicKey, base58Decode(signature), encoder.encode(canonicalJson(document)))
  } catch { return false }
}

// Section 13.7: a chained hour's seal recomputes, sits on the hour just before it (whose chain hash it names), and
// the hour after it, once sealed, names it in turn. fetchRecord(period) answers a sealed hour's record, or null.
export async function checkChain (record, fetchRecord) {
  if (!record.chain_hash) return []  // sealed before hours were chained
  const problems = []
  const hashed = { period: record.period, root: record.root, count: record.count, prev_period: record.prev_period ?? null, prev: record.prev, quote_key: record.quote_key ?? null }
  if (record.tree > 1) hashed.tree = record.tree  // the Merkle tree its root was computed with (13.12)
  if (record.stock_heads !== undefined && record.stock_heads !== null) hashed.stock_heads = record.stock_heads  // 13.10
  if (await sha256Hex(encoder.encode(canonicalJson(hashed))) !== record.chain_hash) problems.push(`the record of ${record.period} does not hash to its chain hash`)
  if (record.prev_period) {
    if (record.prev_period !== hourAfter(record.period, -1)) problems.push(`the record of ${record.period} sits on ${record.prev_period}, not on the hour before it`)
    const before = await fetchRecord(record.prev_period)
    if (!before || before.chain_hash !== record.prev) problems.push(`the record of ${record.prev_period} is not the one ${record.period} was sealed on: it was sealed again`)
  }
  const after = await fetchRecord(hourAfter(record.period, 1))
  if (after && after.prev !== record.chain_hash) problems.push(`the hour after ${record.period} was sealed on another record of ${record.period}: it was sealed again`)
  return problems
}

export function hourAfter (period, hours) {
  return new Date(Date.parse(`${period}:00:00Z`) + hours * 3600e3).toISOString().slice(0, 13)
}

// Section 13.10: the pack's stock chain counts every finite unit, link after link, and the stock a draw used is what
// the link its proof names leaves. `links` is GET /api/v1/packs/{pack_id}/stock-chain's, oldest first.
const V2_LINK = ['pack_id', 'seq', 'prev', 'stock_totals', 'supply_total', 'at']

function hashedLink (link) {
  const fields = link.kind === 'opening' ? [...V2_LINK, 'kind', 'left', 'opening_id', 'taken'] : link.kind ? [...V2_LINK, 'kind', 'left'] : V2_LINK
  return Object.fromEntries(fields.map((field) => [field, link[field] ?? null]))
}

export function leftAfter (before, link) {
  if (link.kind === 'opening') {
    return Object.fromEntries(Object.entries(before.left).map(([item, units]) => [item, units - (link.taken[item] || 0)]))
  }
  return Object.fromEntries(Object.entries(link.stock_totals).map(([item, total]) =>
    [item, before && item in before.stock_totals ? before.left[item] + total - before.stock_totals[item] : total]))
}

export function stockAt (link, committed, caps = {}) {
  return Object.fromEntries(Object.entries(link.left).map(([item, left]) => {
    let units = committed && item in committed ? Math.max(0, committed[item] - (link.stock_totals[item] - left)) : left
    if (committed && item in committed && item in caps) units = Math.min(units, left, caps[item])
    return [item, units]
  }))
}

export async function checkStockChain (proof, links) {
  const problems = []
  let prev = '0'.repeat(64)
  let before = null
  for (const [index, link] of links.entries()) {
    if (link.seq !== index + 1 || link.prev !== prev || await sha256Hex(encoder.encode(canonicalJson(hashedLink(link)))) !== link.hash) {
      problems.push(`stock chain: link ${link.seq} is missing, out of order or was changed after it was written`)
    }
    if (link.kind && before && before.left && canonicalJson(leftAfter(before, link)) !== canonicalJson(link.left)) {
      problems.push(`stock chain: link ${link.seq}'s units left do not follow from the link before it`)
    }
    prev = link.hash
    before = link
  }
  const named = proof.stock_link
  if (!named) return problems
  const link = links[named.seq - 1]
  if (!link || link.hash !== named.hash) return [...problems, `the stock chain has no link ${named.seq} with the hash the proof names (rewritten after the opening)`]
  if (!link.left) return problems
  const caps = {}
  for (const past of proof.abandoned_rounds || []) {
    const at = past.stock_link && links[past.stock_link.seq - 1]
    for (const [item, short] of Object.entries(past.short || {})) {
      if (at && at.left && at.hash === past.stock_link.hash && short.available !== (at.left[item] || 0)) {
        problems.push(`abandoned round ${past.round}: ${item} had ${at.left[item] || 0} left at link ${at.seq}, not ${short.available}`)
      }
      caps[item] = Math.min(caps[item] ?? short.available, short.available)
    }
  }
  if (proof.bundle && proof.bundle.index > 0) return problems  // a later unit draws from what earlier units left
  const expected = stockAt(link, proof.stock_committed, caps)
  if (canonicalJson(expected) !== canonicalJson(proof.stock)) {
    problems.push(`the stock the draw used is not what the stock chain's link ${named.seq} leaves: the count was changed outside the chain`)
  }
  const cutoff = proof.opened_at ? new Date(Date.parse(proof.opened_at) - 5000).toISOString() : null
  const own = new Set([proof.opening_id, proof.bundle && proof.bundle.bundle_id].filter(Boolean))
  const stale = cutoff && links.find((entry) => entry.seq > named.seq && !own.has(entry.opening_id) && entry.at <= cutoff)
  if (stale) problems.push(`the draw used link ${named.seq}, but link ${stale.seq} was written before it opened: a stale count`)
  if (proof.bundle) return problems
  const taken = {}
  for (const drawn of proof.items || []) if (drawn.item_id in (proof.stock || {})) taken[drawn.item_id] = (taken[drawn.item_id] || 0) + 1
  const mine = links.filter((entry) => entry.kind === 'opening' && entry.opening_id === proof.opening_id)
  if (!Object.keys(taken).length) {
    if (mine.length) problems.push('the stock chain records units this opening did not take')
  } else if (mine.length !== 1 || mine[0].seq !== named.seq + 1 || canonicalJson(mine[0].taken) !== canonicalJson(taken)) {
    problems.push(`the stock chain does not record the units this opening took right after link ${named.seq}`)
  }
  return problems
}

// Section 13.11: a quote that ended without opening. Its revealed seed is the committed one; each ending names it,
// recomputes what it would have drawn, and is a leaf of its sealed hour. fetchRecord(period) answers a sealed
// hour's record, or null. { problems, pending }: pending while an ending's hour is not sealed yet.
export async function checkEnding (record, fetchRecord) {
  const problems = []
  let pending = false
  if (await sha256Hex(hexToBytes(record.server_seed)) !== record.server_seed_hash) problems.push('the revealed server seed does not hash to the server_seed_hash its quote committed to')
  const endings = record.endings || []
  if (!endings.length && record.commitment) problems.push('a version 3 quote that ended without opening has no ending on the public record')
  for (const { inclusion, ...ending } of endings) {
    if (ending.opening_id !== record.opening_id || ending.server_seed !== record.server_seed) problems.push(`the ending of ${ending.ended_at} names another opening or seed`)
    const drawn = ending.would_have_drawn
    if (drawn && record.odds_table) {
      const again = await drawOpening(record.odds_table, record.server_seed, drawn.client_seed, record.opening_id, 0, {})
      if (canonicalJson(again || []) !== canonicalJson(drawn.items)) problems.push(`the ending of ${ending.ended_at} does not recompute what it would have drawn`)
    }
    const endingHash = await sha256Hex(encoder.encode(canonicalJson(ending)))
    const leaf = await sha256Hex(encoder.encode(canonicalJson({ opening_id: ending.opening_id, pack_id: ending.pack_id, ended_at: ending.ended_at, outcome: ending.outcome, ending_hash: endingHash })))
    const hour = String(ending.ended_at).slice(0, 13)
    const sealed = await fetchRecord(hour)
    if (inclusion) {
      if (inclusion.leaf !== leaf || await rootFromPath(leaf, inclusion.path, inclusion.tree || 1) !== inclusion.root || !sealed || sealed.root !== inclusion.root) {
        problems.push(`the ending of ${ending.ended_at} is not the leaf its sealed hour holds`)
      }
    } else if (sealed) problems.push(`the record of ${hour} is sealed (${sealed.count} leaves) without this quote's ending`)
    else pending = true
  }
  return { problems, pending }
}
