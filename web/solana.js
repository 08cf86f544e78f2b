// The little of Solana the page needs, without a library: base58, a legacy transaction paying a Solana Pay
// transfer request (SystemProgram transfer with the quote's reference as a read-only key, then the memo), and
// JSON-RPC for a recent blockhash and sending. SOL only: an SPL token quote is paid by scanning its Solana Pay URL.

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
export const SYSTEM_PROGRAM = '11111111111111111111111111111111'
export const MEMO_PROGRAM = 'MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr'

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
