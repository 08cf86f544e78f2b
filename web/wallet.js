// Solana wallets through the Wallet Standard (Phantom, Solflare, Backpack and others register themselves this
// way): discovery by the two window events the standard defines, then standard:connect, solana:signMessage and
// solana:signTransaction. Nothing here stores a key or a token.

const found = []
const listeners = new Set()

const registry = {
  register (...wallets) {
    for (const wallet of wallets) {
      if (!found.includes(wallet) && isSolanaWallet(wallet)) found.push(wallet)
    }
    listeners.forEach((listener) => listener(found))
    return () => {}
  }
}

function isSolanaWallet (wallet) {
  const features = wallet.features || {}
  return 'standard:connect' in features && 'solana:signMessage' in features &&
    ('solana:signTransaction' in features || 'solana:signAndSendTransaction' in features)
}

export function discoverWallets (onChange) {
  listeners.add(onChange)
  window.addEventListener('wallet-standard:register-wallet', ({ detail: callback }) => callback(registry))
  window.dispatchEvent(new CustomEvent('wallet-standard:app-ready', { detail: registry }))
  onChange(found)
}

export async function connect (wallet) {
  const { accounts } = await wallet.features['standard:connect'].connect()
  const account = accounts[0] || wallet.accounts[0]
  if (!account) throw new Error(`${wallet.name} shared no account`)
  return account
}

export async function signMessage (wallet, account, text) {
  const [signed] = await wallet.features['solana:signMessage'].signMessage({
    account, message: new TextEncoder().encode(text)
  })
  return signed.signature
}

// Sign (and, where the wallet only offers that, send) a serialized transaction. Returns {signed} or {signature}.
export async function signTransaction (wallet, account, transaction, chain) {
  const features = wallet.features
  if ('solana:signTransaction' in features) {
    const [result] = await features['solana:signTransaction'].signTransaction({ account, transaction, chain })
    return { signed: result.signedTransaction }
  }
  const [result] = await features['solana:signAndSendTransaction'].signAndSendTransaction({ account, transaction, chain })
  return { signature: result.signature }
}
