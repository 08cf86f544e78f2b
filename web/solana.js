// The little of Solana the page needs, without a library: base58, legacy transactions paying a Solana Pay
// transfer request (a SystemProgram transfer for SOL; for USDC/USDT an SPL Token transferChecked between the
// associated token accounts, found as program-derived addresses; the quote's reference as a read-only key on the
// transfer, then the memo), and JSON-RPC for a recent blockhash and sending.

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
export const SYSTEM_PROGRAM = '11111111111111111111111111111111'
export const MEMO_PROGRAM = 'MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr'
export const TOKEN_PROGRAM = 'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA'
export const ASSOCIATED_TOKEN_PROGRAM = 'ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL'

export function base58Encode (bytes) {
  let n = 0n
  for (const b of bytes) n = n * 256n + BigInt(b)
  let out = ''
  while (n > 0n) { out = ALPHABET[Number(n % 58n)] + out; n /= 58n }
  for (const b of bytes) { if (b !== 0) break; out = '1' + out }
  return out
}

export function base58Decode (text) {
  let n = 0n
  for (const c of text) {
    const i = ALPHABET.indexOf(c)
    if (i < 0) throw new Error(`not base58: ${c}`)
    n = n * 58n + BigInt(i)
  }
  const bytes = []
  while (n > 0n) { bytes.unshift(Number(n % 256n)); n /= 256n }
  for (const c of text) { if (c !== '1') break; bytes.unshift(0) }
  return Uint8Array.from(bytes)
}

function compactU16 (n) {
  const out = []
  for (;;) {
    const low = n & 0x7f
    n >>= 7
    if (n === 0) { out.push(low); return out }
    out.push(low | 0x80)
  }
}

function key (address) {
  const bytes = base58Decode(address)
  if (bytes.length !== 32) throw new Error(`not a 32-byte address: ${address}`)
  return bytes
}

// A legacy transaction (one empty signature slot for the payer) paying `lamports` to `recipient`.
export function transferTransaction ({ payer, recipient, lamports, reference, memo, blockhash }) {
  // accounts: the signer-writable payer, the writable recipient, then the read-only keys
  const readonly = [SYSTEM_PROGRAM, ...(reference ? [reference] : []), ...(memo ? [MEMO_PROGRAM] : [])]
  const accounts = [payer, recipient, ...readonly]
  const index = (address) => accounts.indexOf(address)
  const data = new Uint8Array(12)
  const view = new DataView(data.buffer)
  view.setUint32(0, 2, true) // SystemInstruction::Transfer
  view.setBigUint64(4, BigInt(lamports), true)
  const transferAccounts = [index(payer), index(recipient), ...(reference ? [index(reference)] : [])]
  const instructions = [[index(SYSTEM_PROGRAM), transferAccounts, data]]
  if (memo) instructions.push([index(MEMO_PROGRAM), [], new TextEncoder().encode(memo)])
  const message = [1, 0, readonly.length, ...compactU16(accounts.length)]
  for (const address of accounts) message.push(...key(address))
  message.push(...key(blockhash), ...compactU16(instructions.length))
  for (const [program, indices, bytes] of instructions) {
    message.push(program, ...compactU16(indices.length), ...indices, ...compactU16(bytes.length), ...bytes)
  }
  return Uint8Array.from([...compactU16(1), ...new Uint8Array(64), ...message])
}

// One signer (the payer, writable), then the other writable keys, then the read-only ones; instructions as
// [program, [account indices], data]. A legacy message, one empty signature slot.
function legacyTransaction (payer, writable, readonly, blockhash, instructions) {
  const accounts = [payer, ...writable, ...readonly]
  const message = [1, 0, readonly.length, ...compactU16(accounts.length)]
  for (const address of accounts) message.push(...key(address))
  message.push(...key(blockhash), ...compactU16(instructions.length))
  for (const [program, keys, bytes] of instructions) {
    const indices = keys.map((address) => accounts.indexOf(address))
    message.push(accounts.indexOf(program), ...compactU16(indices.length), ...indices, ...compactU16(bytes.length), ...bytes)
  }
  return Uint8Array.from([...compactU16(1), ...new Uint8Array(64), ...message])
}

// A Solana Pay SPL transfer: transferChecked of `amount` base units from the payer's associated token account to
// the recipient's (which must exist: the platform's does), the reference riding on the transfer, then the memo.
export async function tokenTransferTransaction ({ payer, recipient, mint, amount, decimals, reference, memo, blockhash }) {
  const source = await associatedTokenAddress(payer, mint)
  const destination = await associatedTokenAddress(recipient, mint)
  const data = new Uint8Array(10)
  const view = new DataView(data.buffer)
  view.setUint8(0, 12) // TokenInstruction::TransferChecked
  view.setBigUint64(1, BigInt(amount), true)
  view.setUint8(9, decimals)
  const readonly = [mint, ...(reference ? [reference] : []), TOKEN_PROGRAM, ...(memo ? [MEMO_PROGRAM] : [])]
  const instructions = [[TOKEN_PROGRAM, [source, mint, destination, payer, ...(reference ? [reference] : [])], data]]
  if (memo) instructions.push([MEMO_PROGRAM, [], new TextEncoder().encode(memo)])
  return legacyTransaction(payer, [source, destination], readonly, blockhash, instructions)
}

export async function associatedTokenAddress (owner, mint) {
  return findProgramAddress([key(owner), key(TOKEN_PROGRAM), key(mint)], ASSOCIATED_TOKEN_PROGRAM)
}

// The first bump (255 down) whose sha256(seeds || bump || program || "ProgramDerivedAddress") is not a point of
// ed25519: Solana's find_program_address.
async function findProgramAddress (seeds, programId) {
  const marker = new TextEncoder().encode('ProgramDerivedAddress')
  for (let bump = 255; bump >= 0; bump--) {
    const parts = [...seeds, Uint8Array.of(bump), key(programId), marker]
    const input = new Uint8Array(parts.reduce((n, part) => n + part.length, 0))
    let offset = 0
    for (const part of parts) { input.set(part, offset); offset += part.length }
    const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', input))
    if (!onCurve(hash)) return base58Encode(hash)
  }
  throw new Error('no program address')
}

const P = 2n ** 255n - 19n
const D = (-121665n * modPow(121666n, P - 2n)) % P

function modPow (base, exponent) {
  let result = 1n
  base = ((base % P) + P) % P
  while (exponent > 0n) {
    if (exponent & 1n) result = (result * base) % P
    base = (base * base) % P
    exponent >>= 1n
  }
  return result
}

// Whether 32 bytes decompress to an ed25519 point (as curve25519-dalek's decompress): x^2 = (y^2 - 1) / (d y^2 + 1)
// must have a square root mod p.
function onCurve (bytes) {
  let y = 0n
  for (let i = 31; i >= 0; i--) y = (y << 8n) + BigInt(i === 31 ? bytes[i] & 0x7f : bytes[i])
  y %= P
  const y2 = (y * y) % P
  const u = (y2 - 1n + P) % P
  const v = (((D * y2) % P) + 1n + P) % P
  const x = (u * modPow(v, 3n) % P) * modPow((u * modPow(v, 7n)) % P, (P - 5n) / 8n) % P
  const vx2 = (v * ((x * x) % P)) % P
  return vx2 === u || vx2 === (P - u) % P
}

// The first signature of a signed transaction, base58: the transaction's id.
export function firstSignature (signed) {
  return base58Encode(signed.slice(1, 65))
}

export async function rpc (url, method, ...params) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params })
  })
  const answer = await response.json()
  if (answer.error) throw new Error(`${method}: ${answer.error.message}`)
  return answer.result
}

export function toBase64 (bytes) {
  let text = ''
  for (const b of bytes) text += String.fromCharCode(b)
  return btoa(text)
}

// Solana Pay transfer request fields (solana:<recipient>?amount=&reference=&memo=...)
export function transferRequest (url) {
  const parsed = new URL(url)
  return {
    recipient: parsed.pathname,
    amount: parsed.searchParams.get('amount'),
    reference: parsed.searchParams.get('reference'),
    memo: parsed.searchParams.get('memo'),
    splToken: parsed.searchParams.get('spl-token')
  }
}
