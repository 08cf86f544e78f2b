// Packvault's reference storefront: only the public API, plain ES modules. Browse packs and their exact odds,
// sign in with a passkey, an emailed code or a Wallet Standard wallet (the token stays in memory), buy, pay by card
// or with a Solana wallet (or any Solana Pay wallet), watch the reveal, see the vault and the account's ways to sign
// in, and verify any opening in the browser (fairness.js).

import { connect, discoverWallets, signMessage, signTransaction } from './wallet.js'
import { base58Encode, firstSignature, rpc, toBase64, tokenTransferTransaction, transferRequest, transferTransaction } from './solana.js'
import { canonicalJson, checkChain, checkEnding, checkReceipt, checkStockChain, checkVault, clientSeedParts, hexToBytes, hourAfter, leftAfter, randomBelow, rootFromPath, sha256Hex, stockAt, unitOpeningId, verifyProof, verifySignature } from './fairness.js'
import { createPasskey, passkeysAvailable, usePasskey } from './passkeys.js'
import { oddsChart } from './charts.js'

// session: the API's sign-in answer (account_id, wallet or null); wallet/account: the connected Solana wallet, if any
const state = { config: null, wallets: [], wallet: null, account: null, session: null, token: null, timer: null }
const main = document.getElementById('main')
const notice = document.getElementById('notice')

// What to do next, for the codes where the API's own message is not the whole story.
const HINTS = {
  AUTH_REQUIRED: 'Sign in first (a passkey, an emailed code or a Solana wallet).',
  WALLET_REQUIRED: 'Pay by card, or link a Solana wallet on your account page.',
  CODE_INCORRECT: 'Check the newest email, or ask for a new code.',
  PASSKEY_UNKNOWN: 'This passkey is not registered here: create an account with a passkey, or sign in another way.',
  IDENTITY_TAKEN: 'It belongs to another account: sign in with it there.',
  TOKEN_EXPIRED: 'Your sign-in has expired: sign in again.',
  TOKEN_INVALID: 'Sign in again.',
  SOLD_OUT: 'Every unit is sold or reserved; reserved units come back when unpaid quotes expire.',
  TOO_MANY_OPEN_QUOTES: 'Pay or let an earlier quote expire, then try again.',
  MINT_LIMIT_REACHED: 'This wallet already holds as many of this pack as one wallet may.',
  PACK_INACTIVE: 'This pack is not on sale right now.',
  PAYMENT_AFTER_EXPIRY: 'Your payment arrived after the quote expired: it is recorded and will be opened or refunded.',
  PAYMENT_REFUND_DUE: 'Your payment is recorded and will be refunded; its public record shows what it would have drawn.',
  TRANSACTION_NOT_FOUND: 'The network has not shown the payment yet; it is checked again automatically.',
  RPC_UNAVAILABLE: 'The Solana network could not be reached; try again in a moment.',
  RATE_LIMITED: 'Too many requests: wait a moment.',
  BUSY_RETRY: 'Busy: try again.',
  UNDERPAID: 'The payment was less than the quote; it is recorded for a refund.',
  OPENING_NOT_CONFIRMABLE: 'This quote can no longer be paid: start a new purchase.',
  NONCE_EXPIRED: 'The sign-in request expired: sign in again.',
  SIGNATURE_MISMATCH: 'The wallet signed for another account: choose the account you connected.'
}

class ApiError extends Error {
  constructor (status, body, retryAfter) {
    const error = (body && body.error) || {}
    super(error.message || `The API answered ${status}.`)
    this.status = status
    this.code = error.code || `HTTP_${status}`
    this.retryAfter = retryAfter
  }
}

function describe (error) {
  if (error instanceof ApiError) return `${error.message} ${HINTS[error.code] || ''} (${error.code})`.replace('  ', ' ')
  if (error && error.name === 'TypeError') return 'The shop could not be reached. Check your connection and try again.'
  return String((error && error.message) || error)
}

function say (text, ok = false) {
  notice.textContent = text
  notice.className = ok ? 'ok' : ''
  notice.hidden = !text
}

async function api (method, path, body, extraHeaders = {}) {
  const headers = { accept: 'application/json', ...extraHeaders }
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (state.token) headers.authorization = `Bearer ${state.token}`
  const response = await fetch(state.config.api + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const answer = await response.json().catch(() => ({}))
  const retryAfter = Number(response.headers.get('retry-after')) || answer.retry_after_seconds || 0
  if (!response.ok) throw new ApiError(response.status, answer, retryAfter)
  return { ...answer, _status: response.status, _retryAfter: retryAfter }
}

const TOKEN_DECIMALS = { USDC: 6, USDT: 6 }  // the SPL tokens a quote may ask for (core/money.py)
const escape = (text) => String(text ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
const plural = (count, word) => `${count} ${word}${count === 1 ? '' : 's'}`
const usd = (amount) => `$${Number(amount).toFixed(2)}`
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const reducedMotion = () => window.matchMedia('(prefers-reduced-motion: reduce)').matches

// --- the account bar --------------------------------------------------------------------------------------

const short = (id) => `${id.slice(0, id.startsWith('acct_') ? 9 : 4)}…${id.slice(-4)}`

function renderAccount () {
  const bar = document.getElementById('account')
  if (state.token) {
    const id = state.session.account_id
    bar.innerHTML = `${state.session.role ? '<a href="#/admin">Operators</a> ' : ''}<a href="#/account" class="mono" title="${escape(id)}">${escape(short(id))}</a>
      <button class="secondary" id="sign-out">Sign out</button>`
    document.getElementById('sign-out').onclick = () => {
      Object.assign(state, { token: null, session: null, wallet: null, account: null })
      renderAccount()
      route()
    }
    return
  }
  bar.innerHTML = '<a href="#/sign-in" id="sign-in-link">Sign in</a> ' +
    state.wallets.map((w, i) => `<button data-wallet="${i}">Sign in with ${escape(w.name)}</button>`).join(' ')
  bar.querySelectorAll('button').forEach((button) => {
    button.onclick = () => signIn(state.wallets[Number(button.dataset.wallet)])
  })
}

function signedIn (session, wallet = null, account = null) {
  Object.assign(state, { session, token: session.token, wallet, account })
  renderAccount()
  if (location.hash.startsWith('#/sign-in')) location.assign('#/account')
  else route()
}

async function proveWallet (wallet) {
  const account = await connect(wallet)
  const challenge = await api('POST', '/api/v1/auth/nonce', { wallet: account.address })
  const signature = await signMessage(wallet, account, challenge.message)
  return { account, proof: { wallet: account.address, message: challenge.message, signature: base58Encode(signature) } }
}

async function signIn (wallet) {
  say('')
  try {
    const { account, proof } = await proveWallet(wallet)
    signedIn(await api('POST', '/api/v1/auth/verify', proof), wallet, account)
  } catch (error) {
    say(`Sign-in failed: ${describe(error)}`)
  }
}

async function passkeySignIn (create) {
  say('')
  try {
    if (create) {
      const { options } = await api('POST', '/api/v1/auth/passkey/register/options', {})
      signedIn(await api('POST', '/api/v1/auth/passkey/register/verify', { credential: await createPasskey(options) }))
    } else {
      const { options } = await api('POST', '/api/v1/auth/passkey/authenticate/options', {})
      signedIn(await api('POST', '/api/v1/auth/passkey/authenticate/verify', { credential: await usePasskey(options) }))
    }
  } catch (error) {
    say(`Passkey sign-in failed: ${error && error.name === 'NotAllowedError' ? 'it was cancelled or timed out.' : describe(error)}`)
  }
}

// An emailed code: the same form signs in (path /auth/email/verify) or links the address to the signed-in account.
function emailForm (target, verifyPath, done) {
  target.innerHTML = `<form id="email-form"><label for="email">Email address</label>
      <input id="email" type="email" autocomplete="email" required maxlength="254">
      <button>Email me a code</button></form>
    <form id="code-form" hidden><label for="code">The 6-digit code from the email</label>
      <input id="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required>
      <button>${verifyPath.includes('/auth/') ? 'Sign in with the code' : 'Link this address'}</button></form>`
  const email = target.querySelector('#email')
  target.querySelector('#email-form').onsubmit = async (event) => {
    event.preventDefault()
    say('')
    try {
      const started = await api('POST', '/api/v1/auth/email/start', { email: email.value })
      say(started.message, true)
      target.querySelector('#code-form').hidden = false
      target.querySelector('#code').focus()
    } catch (error) { say(describe(error)) }
  }
  target.querySelector('#code-form').onsubmit = async (event) => {
    event.preventDefault()
    say('')
    try {
      done(await api('POST', verifyPath, { email: email.value, code: target.querySelector('#code').value.trim() }))
    } catch (error) { say(describe(error)) }
  }
}

function showSignIn () {
  const domainNote = passkeysAvailable() ? '' : `<p class="muted">Passkeys need the shop's name in the address bar, not a number: open <a href="${escape(location.href.replace(location.hostname, 'localhost'))}">this page on localhost</a>.</p>`
  main.innerHTML = `<h1>Sign in</h1>
    <p>No crypto wallet is needed to buy: a passkey or an emailed code is enough to pay by card, and your items are kept in your vault.</p>
    <section class="card" aria-labelledby="passkey-title"><h2 id="passkey-title">Passkey</h2>${domainNote}
      <button id="passkey-sign-in" ${passkeysAvailable() ? '' : 'disabled'}>Sign in with a passkey</button>
      <button class="secondary" id="passkey-create" ${passkeysAvailable() ? '' : 'disabled'}>Create an account with a passkey</button></section>
    <section class="card" aria-labelledby="email-title"><h2 id="email-title">Email me a code</h2><div id="email-sign-in"></div></section>
    <section class="card" aria-labelledby="wallet-title"><h2 id="wallet-title">Connect a Solana wallet</h2>
      ${state.wallets.length ? state.wallets.map((w, i) => `<button class="secondary" data-connect="${i}">Sign in with ${escape(w.name)}</button>`).join(' ')
        : '<p class="muted">No Solana wallet found in this browser (Phantom, Solflare and Backpack appear here). You only need one to pay in SOL, USDC or USDT.</p>'}</section>`
  document.getElementById('passkey-sign-in').onclick = () => passkeySignIn(false)
  document.getElementById('passkey-create').onclick = () => passkeySignIn(true)
  emailForm(document.getElementById('email-sign-in'), '/api/v1/auth/email/verify', (session) => signedIn(session))
  main.querySelectorAll('[data-connect]').forEach((button) => {
    button.onclick = () => signIn(state.wallets[Number(button.dataset.connect)])
  })
}

async function showAccount () {
  if (!state.token) { location.replace('#/sign-in'); return }
  const live = current()
  const view = await api('GET', '/api/v1/me/identities')
  if (!live()) return
  const kinds = { wallet: 'Solana wallet', passkey: 'Passkey', email: 'Email' }
  main.innerHTML = `<h1>Your account</h1><p>Account <span class="mono" id="account-id">${escape(view.account_id)}</span></p>
    <h2>Ways to sign in</h2>
    <ul id="identities">${view.identities.map((i) => `<li><strong>${kinds[i.kind]}</strong> <span class="mono">${escape(i.kind === 'passkey' ? i.id.slice(0, 12) + '…' : i.id)}</span>
      <button class="secondary" data-kind="${escape(i.kind)}" data-id="${escape(i.id)}" aria-label="Remove ${kinds[i.kind]} ${escape(i.id.slice(0, 12))}">Remove</button></li>`).join('')}</ul>
    <section class="card" aria-labelledby="add-title"><h2 id="add-title">Add a way to sign in</h2>
      <p><button id="add-passkey" ${passkeysAvailable() ? '' : 'disabled'}>Add a passkey</button>
      ${state.wallets.map((w, i) => `<button class="secondary" data-link="${i}">Link ${escape(w.name)}</button>`).join(' ')}</p>
      <h3>Link an email address</h3><div id="link-email"></div></section>`
  main.querySelectorAll('[data-kind]').forEach((button) => {
    button.onclick = async () => {
      try {
        await api('DELETE', `/api/v1/me/identities/${button.dataset.kind}/${encodeURIComponent(button.dataset.id)}`)
        route()
      } catch (error) { say(describe(error)) }
    }
  })
  document.getElementById('add-passkey').onclick = async () => {
    try {
      const { options } = await api('POST', '/api/v1/me/identities/passkey/options', {})
      await api('POST', '/api/v1/me/identities/passkey', { credential: await createPasskey(options) })
      route()
    } catch (error) { say(describe(error)) }
  }
  main.querySelectorAll('[data-link]').forEach((button) => {
    button.onclick = async () => {
      try {
        const wallet = state.wallets[Number(button.dataset.link)]
        const { account, proof } = await proveWallet(wallet)
        await api('POST', '/api/v1/me/identities/wallet', proof)
        Object.assign(state, { wallet, account })
        route()
      } catch (error) { say(describe(error)) }
    }
  })
  emailForm(document.getElementById('link-email'), '/api/v1/me/identities/email', () => route())
}

// --- packs ------------------------------------------------------------------------------------------------

// Each route() starts a new view; an older view whose request answers late must not draw over it.
const current = () => { const view = state.view; return () => view === state.view }

async function showPacks () {
  const live = current()
  const { packs } = await api('GET', '/api/v1/packs')
  if (!live()) return
  main.innerHTML = `<h1>Packs</h1><div class="grid">${packs.map((pack) => `
    <article class="card">
      ${picture(pack.image_url, `${pack.name} pack`, 'pack-art')}
      <h2>${escape(pack.name)}</h2>
      <p class="muted">${escape(pack.description || '')}</p>
      <p>${pack.prices.map((p) => `<strong>${escape(p.amount)} ${escape(p.currency)}</strong>`).join(' · ')}</p>
      <p>${plural(pack.cards_per_pack, 'item')} · ${pack.remaining_supply === null ? 'unlimited supply' : pack.sold_out ? '<strong>sold out</strong>' : `${pack.remaining_supply} left`}</p>
      <a href="#/pack/${encodeURIComponent(pack.pack_id)}">Odds and buying</a>
    </article>`).join('')}</div>`
}

// A catalog picture (https, or a file this site serves) with its alt text; nothing when the catalog has none.
function picture (url, alt, className, size = [120, 160]) {
  if (!url || !/^(https:\/\/|\/images\/)/.test(url)) return ''
  const src = url.startsWith('/images/') ? url.slice(1) : url  // relative to the page, wherever it is hosted
  return `<img class="${className}" src="${escape(src)}" alt="${escape(alt)}" width="${size[0]}" height="${size[1]}" loading="lazy" decoding="async">`
}

function oddsTable (odds) {
  return odds.slots.map((slot, s) => `
    <h3>Slot ${s + 1}: ${slot.count} item${slot.count === 1 ? '' : 's'}</h3>
    <div class="table-wrap"><table><thead><tr><th scope="col">Item</th><th scope="col">Tier</th><th class="num" scope="col">Chance per item</th><th class="num" scope="col">Fair value</th><th class="num" scope="col">Stock</th></tr></thead><tbody>
    ${slot.tiers.map((tier) => tier.items.map((item) => `<tr>
      <td class="with-thumb">${picture(item.image_url, '', 'thumb', [24, 32])}${escape(item.name)}</td><td>${escape(tier.name)} (${escape(tier.probability_exact)})</td>
      <td class="num">${escape(item.probability_exact)}</td><td class="num">${usd(item.fmv)}</td>
      <td class="num">${item.stock_remaining === null ? '∞' : item.stock_remaining}</td></tr>`).join('')).join('')}
    </tbody></table></div>`).join('')
}

async function showPack (packId) {
  const live = current()
  const pack = await api('GET', `/api/v1/packs/${encodeURIComponent(packId)}`)
  if (!live()) return
  const solana = pack.prices.filter((p) => p.rail === 'solana')
  main.innerHTML = `<div class="pack-head">${picture(pack.image_url, `${pack.name} pack`, 'pack-art')}<div><h1>${escape(pack.name)}</h1>
    <p>${escape(pack.description || '')}</p></div></div>
    <section class="card" aria-labelledby="buy-title"><h2 id="buy-title">Buy</h2><div id="buy"></div></section>
    <section aria-labelledby="odds-title"><h2 id="odds-title">Odds (version ${pack.odds.version})</h2>
      <p class="muted">${escape(pack.odds.policy)}</p>
      <p><a href="#/stats/${encodeURIComponent(pack.pack_id)}">What this pack has really given</a>: pulls, rarest pulls and realized odds.</p>
      ${oddsTable(pack.odds)}
      <p class="muted mono">odds hash ${escape(pack.odds.hash)}</p></section>`
  const buy = document.getElementById('buy')
  if (!state.token) {
    buy.innerHTML = '<p><a href="#/sign-in">Sign in</a> to buy: with a passkey or an emailed code (enough to pay by card) or a Solana wallet.</p>'
    return
  }
  if (pack.sold_out || pack.status !== 'ACTIVE') { buy.innerHTML = '<p>Not on sale right now.</p>'; return }
  const card = pack.prices.find((p) => p.rail === 'stripe')
  const credit = pack.prices.find((p) => p.rail === 'credits')
  const most = Math.min(pack.max_quantity || 1, pack.remaining_supply ?? Infinity)
  buy.innerHTML = `${most > 1 ? `<label for="quantity">Packs</label>
    <select id="quantity">${[...Array(most).keys()].map((n) => `<option value="${n + 1}">${n + 1}</option>`).join('')}</select>` : ''}
    <label for="currency">Pay with</label>
    <select id="currency">${solana.map((p) => `<option value="${escape(p.currency)}">${escape(p.amount)} ${escape(p.currency)} each</option>`).join('')}</select>
    <button id="purchase">Buy one pack</button>
    ${card ? `<p>or <button class="secondary" id="card">Pay ${usd(card.amount)} by card</button></p>` : ''}
    ${credit ? `<p>or <button class="secondary" id="with-credits">Open with ${escape(credit.amount)} credits</button></p>` : ''}
    ${card ? `<form id="open-payments" class="inline-form"><label for="wallet-address">or pay from an Open Payments wallet (its address)</label>
      <input id="wallet-address" name="wallet-address" required placeholder="https://wallet.example/alice" autocomplete="off">
      <button class="secondary">Pay from this wallet</button></form>` : ''}`
  const quantity = () => Number((document.getElementById('quantity') || { value: 1 }).value)
  const label = () => {
    const count = quantity()
    document.getElementById('purchase').textContent = count === 1 ? 'Buy one pack' : `Buy ${count} packs`
    if (card) document.getElementById('card').textContent = `Pay ${usd(cents(card.amount) * count / 100)} by card`
    if (credit) document.getElementById('with-credits').textContent = `Open with ${BigInt(credit.amount) * BigInt(count)} credits`
  }
  if (most > 1) document.getElementById('quantity').onchange = label
  document.getElementById('purchase').onclick = () => purchase(pack, document.getElementById('currency').value, quantity())
  if (card) document.getElementById('card').onclick = () => payByCard(pack, quantity())
  if (credit) document.getElementById('with-credits').onclick = () => openWithCredits(pack, quantity())
  if (card) {
    document.getElementById('open-payments').onsubmit = (event) => {
      event.preventDefault()
      payFromWallet(pack, document.getElementById('wallet-address').value.trim(), quantity())
    }
  }
}

// Open Payments: the buyer approves the payment at their own wallet, which sends the browser back through our
// finish route to #/open-payments-return?opening_id=...&status=...
async function payFromWallet (pack, walletAddress, quantity = 1) {
  say('')
  try {
    const started = await api('POST', `/api/v1/packs/${encodeURIComponent(pack.pack_id)}/open-payments/checkout`,
      { wallet_address: walletAddress, return_url: `${location.origin}${location.pathname}#/open-payments-return`, ...(quantity > 1 ? { quantity } : {}) })
    location.assign(started.redirect_url)
  } catch (error) { say(describe(error)) }
}

const OPEN_PAYMENTS_OUTCOMES = { rejected: 'You declined the payment at your wallet: nothing was paid.',
  failed: 'Your wallet did not make the payment: nothing was opened. Try again or pay another way.',
  pending: 'The payment is still settling; your pack opens as soon as it has.',
  refund_due: 'The payment arrived but could not open the pack: it is recorded and will be refunded.' }

async function showOpenPaymentsReturn () {
  const query = new URLSearchParams(location.hash.split('?')[1] || '')
  const openingId = query.get('opening_id') || ''
  if (!/^[0-9a-f-]{36}$/.test(openingId)) throw new Error('No Open Payments payment is waiting here.')
  if (query.get('status') === 'opened') { location.replace(`#/opening/${openingId}`); return }
  main.innerHTML = `<h1>Your payment</h1><p>${escape(OPEN_PAYMENTS_OUTCOMES[query.get('status')] || 'The payment did not complete.')}</p>
    <p><a href="#/verify/${encodeURIComponent(openingId)}">See this opening's public record</a></p>`
}

// A price's whole cents (card prices are USD with at most 2 decimals): exact, no binary fractions.
const cents = (amount) => { const [whole, fraction = ''] = amount.split('.'); return Number(whole) * 100 + Number(fraction.padEnd(2, '0')) }

// Card payments go through Stripe's hosted Checkout page and come back here; the webhook opens the pack. The token
// stays in memory, so the page that comes back shows the opening from its public proof.
async function payByCard (pack, quantity = 1) {
  say('')
  const back = `${location.origin}${location.pathname}#/card-return`
  try {
    const started = await api('POST', `/api/v1/packs/${encodeURIComponent(pack.pack_id)}/checkout`,
      { success_url: back, cancel_url: `${location.origin}${location.pathname}#/pack/${encodeURIComponent(pack.pack_id)}`, ...(quantity > 1 ? { quantity } : {}) })
    sessionStorage.setItem('packvault-card-opening', started.opening_id)  // an id, not a secret
    location.assign(started.checkout_url)
  } catch (error) { say(describe(error)) }
}

// --- buying -----------------------------------------------------------------------------------------------

async function purchase (pack, currency, quantity = 1) {
  say('')
  let quote
  try {
    quote = await api('POST', `/api/v1/packs/${encodeURIComponent(pack.pack_id)}/purchase`, { currency, ...(quantity > 1 ? { quantity } : {}) })
  } catch (error) { say(describe(error)); return }
  showQuote(quote, currency, document.getElementById('buy'))
}

// A Solana quote (a pack's or a top-up's): pay it with the connected wallet or any Solana Pay wallet, then confirm.
function showQuote (quote, currency, buy) {
  buy.innerHTML = `<p>Reserved for you until <time datetime="${escape(quote.quote_expires_at)}">${new Date(quote.quote_expires_at).toLocaleTimeString()}</time>:
      <span class="countdown" id="countdown" aria-live="off"></span> left.</p>
    <p>Pay <strong>${escape(quote.amount)} ${escape(quote.currency)}</strong>${quote.quantity ? ` for ${quote.quantity} packs` : ''} to <span class="mono">${escape(quote.receiver_wallet)}</span>.</p>
    <ol class="steps">
      <li>${(currency === 'SOL' || TOKEN_DECIMALS[currency]) && state.wallet && state.account && state.account.address === quote.payer_wallet ? '<button id="pay">Pay with my wallet</button>' : `Pay from <span class="mono">${escape(quote.payer_wallet || '')}</span> with any Solana Pay wallet:`}</li>
      <li>Or scan this Solana Pay request with a phone wallet:
        <div id="qr" class="qr"></div>
        <a class="mono" id="pay-url" href="${escape(quote.solana_pay_url)}">${escape(quote.solana_pay_url)}</a>
        <button class="secondary" id="check">I paid: check now</button></li>
    </ol>
    <p id="progress" aria-live="polite"></p>
    <details><summary>The commitment you keep (fairness)</summary><p class="mono">quote hash ${escape(quote.quote_hash || '')}<br>server seed hash ${escape(quote.server_seed_hash)}</p></details>`
  startCountdown(quote)
  drawQr(quote.solana_pay_url)
  const pay = document.getElementById('pay')
  if (pay) pay.onclick = () => payWithWallet(quote)
  document.getElementById('check').onclick = () => findPayment(quote)
}

async function drawQr (url) {
  try {
    const { default: qrcode } = await import('./vendor/qrcode.mjs')
    const code = qrcode(0, 'M')
    code.addData(url)
    code.make()
    document.getElementById('qr').innerHTML = code.createSvgTag({ cellSize: 4, margin: 4, scalable: true, alt: 'Solana Pay QR code', title: 'Solana Pay request' })
  } catch (error) {
    document.getElementById('qr').textContent = '(QR code unavailable: open the link below with a wallet)'
  }
}

function startCountdown (quote) {
  clearInterval(state.timer)
  const tick = () => {
    const left = Math.max(0, Math.round((new Date(quote.quote_expires_at) - Date.now()) / 1000))
    const element = document.getElementById('countdown')
    if (!element) { clearInterval(state.timer); return }
    element.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}`
    if (left === 0) {
      clearInterval(state.timer)
      document.getElementById('progress').textContent = 'This quote has expired: the unit went back on sale. A payment made ' +
        'after this is still found and recorded: it is opened if a unit is left, otherwise refunded. Start a new purchase to buy.'
      const pay = document.getElementById('pay')
      if (pay) pay.disabled = true
    }
  }
  tick()
  state.timer = setInterval(tick, 1000)
}

async function payWithWallet (quote) {
  const progress = document.getElementById('progress')
  const button = document.getElementById('pay')
  button.disabled = true
  try {
    const request = transferRequest(quote.solana_pay_url)
    progress.textContent = 'Preparing the transfer…'
    const { value } = await rpc(state.config.solana_rpc, 'getLatestBlockhash', { commitment: 'confirmed' })
    const transaction = quote.mint
      ? await tokenTransferTransaction({
        payer: state.account.address, recipient: quote.receiver_wallet, mint: quote.mint, amount: quote.amount_base_units,
        decimals: TOKEN_DECIMALS[quote.currency], reference: request.reference, memo: request.memo, blockhash: value.blockhash
      })
      : transferTransaction({
        payer: state.account.address, recipient: quote.receiver_wallet, lamports: quote.amount_base_units,
        reference: request.reference, memo: request.memo, blockhash: value.blockhash
      })
    progress.textContent = 'Approve the payment in your wallet…'
    const result = await signTransaction(state.wallet, state.account, transaction, `solana:${state.config.cluster}`)
    let signature = result.signature ? base58Encode(result.signature) : null
    if (result.signed) {
      signature = firstSignature(result.signed)
      await rpc(state.config.solana_rpc, 'sendTransaction', toBase64(result.signed), { encoding: 'base64' })
    }
    await confirm(quote, signature)
  } catch (error) {
    progress.textContent = ''
    say(`Payment not completed: ${describe(error)}`)
    button.disabled = false
  }
}

async function findPayment (quote) {
  try {
    const found = await rpc(state.config.solana_rpc, 'getSignaturesForAddress', quote.reference, { limit: 5 })
    if (!found.length) { say('No payment with this quote\'s reference yet. It can take a few seconds to appear.'); return }
    await confirm(quote, found[found.length - 1].signature)
  } catch (error) { say(describe(error)) }
}

// confirm-payment until the pack opens, honouring Retry-After.
async function confirm (quote, signature) {
  const progress = document.getElementById('progress')
  for (let attempt = 0; attempt < 30; attempt++) {
    progress.textContent = 'Waiting for the network to confirm the payment…'
    try {
      const answer = await api('POST', `/api/v1/packs/openings/${quote.opening_id}/confirm-payment`, { tx_signature: signature, chain: 'sol' })
      if (answer.status !== 'pending') {
        clearInterval(state.timer)
        if (answer.product === 'game_credit') { location.hash = `#/order/${answer.order_id}`; return }
        if (answer.product === 'credits') { await route(); say(`${answer.credits} credits added to your balance.`, true); return }
        state.lastOpened = answer
        location.hash = `#/opening/${answer.opening_id}`
        return
      }
      await sleep(1000 * (answer._retryAfter || 1))
    } catch (error) {
      if (!(error instanceof ApiError) || !['TRANSACTION_NOT_FOUND', 'RPC_UNAVAILABLE', 'BUSY_RETRY'].includes(error.code)) throw error
      await sleep(1000 * (error.retryAfter || 1))
    }
  }
  throw new Error('The payment was not confirmed in time; it is still checked in the background. Look at your vault later.')
}

// --- the reveal, the vault, verification ------------------------------------------------------------------

async function showOpening (openingId) {
  const live = current()
  const opened = state.lastOpened && state.lastOpened.opening_id === openingId ? state.lastOpened
    : state.token ? await api('GET', `/api/v1/packs/openings/${encodeURIComponent(openingId)}`)
      : await publicOpening(openingId, live)
  if (!live()) return
  const units = opened.bundle ? opened.bundle.openings : [{ opening_id: openingId, items: opened.items || [], record_receipt: opened.record_receipt }]
  for (const unit of units) keepReceipt(unit.record_receipt || (unit.opening_id === openingId ? opened.record_receipt : null))
  main.innerHTML = `<h1>${units.length > 1 ? `Your ${units.length} packs` : 'Your pack'}</h1><p class="muted">Opening <span class="mono">${escape(openingId)}</span> · ${escape(opened.status)}</p>
    ${units.map((unit, n) => `${units.length > 1 ? `<h2 id="unit-${n}">Pack ${n + 1} of ${units.length}</h2>` : ''}
      <ul class="reveal" id="reveal-${n}" aria-live="polite"${units.length > 1 ? ` aria-labelledby="unit-${n}"` : ''}></ul>`).join('')}
    <p><a href="#/vault">See your vault</a> · <button class="secondary" id="verify">Verify ${units.length > 1 ? 'these openings' : 'this opening'}</button></p>
    <div id="verdict" aria-live="polite"></div>`
  document.getElementById('verify').onclick = () => verifyAll(units.map((unit) => unit.opening_id), document.getElementById('verdict'))
  for (const [n, unit] of units.entries()) {  // one pack after another, each item after the one before
    const list = document.getElementById(`reveal-${n}`)
    for (const item of unit.items) {
      if (!live()) return
      list.insertAdjacentHTML('beforeend', `<li class="${escape(item.rarity)}">${picture(item.image_url, `${item.name} (${item.rarity})`, 'item-art')}<strong>${escape(item.name)}</strong><br>
        <span class="muted">${escape(item.rarity)}</span><br>${usd(item.fmv)}</li>`)
      if (!reducedMotion()) await sleep(450)
    }
  }
}

// A sealed hour of the public record, or null while it is not sealed.
async function sealedRecord (period) {
  try { return await api('GET', `/api/v1/fairness/records/${encodeURIComponent(period)}`) } catch (error) {
    if (error instanceof ApiError && error.code === 'RECORD_NOT_SEALED') return null
    throw error
  }
}

// docs/FAIRNESS.md 13.5: the record receipt each opening handed this browser, kept here to hold the public record to.
function keepReceipt (receipt) {
  if (!receipt || !receipt.opening_id) return
  try { localStorage.setItem(`packvault.receipt.${receipt.opening_id}`, JSON.stringify(receipt)) } catch { /* storage full or off */ }
}

function keptReceipt (openingId) {
  try { return JSON.parse(localStorage.getItem(`packvault.receipt.${openingId}`) || 'null') } catch { return null }
}

async function verifyAll (openingIds, target) {
  if (openingIds.length === 1) return verifyInto(openingIds[0], target)
  target.innerHTML = openingIds.map((id, n) => `<h3>Pack ${n + 1}</h3><div id="verdict-${n}"></div>`).join('')
  for (const [n, id] of openingIds.entries()) await verifyInto(id, document.getElementById(`verdict-${n}`), `verdict-word-${n}`)
}

// An opening seen without signing in (after the card page sent the browser back): its public proof, polled until
// the payment has opened it.
async function publicOpening (openingId, live) {
  for (let attempt = 0; attempt < 60 && live(); attempt++) {
    const record = await api('GET', `/api/v1/proofs/${encodeURIComponent(openingId)}`)
    if (record.proof && record.bundle) {  // a bundle paid by card: every unit's public proof, in order
      const openings = []
      for (const id of record.bundle.opening_ids) {
        const unit = id === openingId ? record : await api('GET', `/api/v1/proofs/${encodeURIComponent(id)}`)
        openings.push({ opening_id: id, items: unit.proof ? unit.proof.delivered || [] : [] })
      }
      return { opening_id: openingId, status: record.status, items: openings[0].items, bundle: { openings } }
    }
    if (record.proof) return { opening_id: openingId, status: record.status, items: record.proof.delivered || [] }
    if (!['quoted'].includes(record.status)) return { opening_id: openingId, status: record.status, items: [] }
    main.innerHTML = '<h1>Your pack</h1><p aria-live="polite">Waiting for the card payment to be confirmed…</p>'
    await sleep(1000)
  }
  return { opening_id: openingId, status: 'quoted', items: [] }
}

async function verifyInto (openingId, target, wordId = 'verdict-word') {
  target.textContent = 'Recomputing the draw in your browser…'
  try {
    const publicRecord = await api('GET', `/api/v1/proofs/${encodeURIComponent(openingId)}`)
    const { proof } = publicRecord
    if (!proof && publicRecord.server_seed) return await endingInto(publicRecord, target, wordId)
    if (!proof) { target.textContent = `This quote is ${publicRecord.status}: there is nothing to recompute until it opens.`; return }
    const result = await verifyProof(proof)
    let published = null  // the quote key the API publishes now: asked for once, when needed
    const publishedKey = async () => (published ??= (await api('GET', '/api/v1/fairness/quote-key')).public_key)
    if (proof.inclusion) {
      const record = await api('GET', `/api/v1/fairness/records/${encodeURIComponent(proof.inclusion.period)}`)
      if (record.root !== proof.inclusion.root) result.problems.push('the hour\'s published root is not the one in the proof')
      if ((record.tree || 1) !== (proof.inclusion.tree || 1)) result.problems.push('the hour is sealed with another Merkle tree than the proof\'s path says')
      result.problems.push(...await checkChain(record, sealedRecord))
      result.verdict = result.problems.length ? 'mismatch' : result.verdict
    }
    if (proof.version >= 2 && !proof.inclusion && proof.opened_at) {  // FAIRNESS.md 9: not in the record (yet?)
      const hour = String(proof.opened_at).slice(0, 13)
      const sealed = await sealedRecord(hour)
      if (sealed) {  // sealed without its leaf: left out of, or moved from, the record
        result.problems.push(`the record of ${hour} is sealed (${sealed.count} leaves) without this opening's leaf`)
        result.verdict = 'mismatch'
      } else if (!result.problems.length) {
        result.verdict = 'incomplete'
        result.pending = 'its hour of the public record is not sealed yet: check again a few minutes after the hour ends'
      }
    }
    if (proof.stock_link && proof.pack_id) {  // the stock it drew with, recounted from the pack's chain (13.10)
      const chain = await api('GET', `/api/v1/packs/${encodeURIComponent(proof.pack_id)}/stock-chain`)
      const found = await checkStockChain(proof, chain.links)
      result.problems.push(...found)
      if (!found.length) result.stockLink = proof.stock_link.seq
      result.verdict = result.problems.length ? 'mismatch' : result.verdict
    }
    if (proof.commitment && proof.commitment.quote_key) {  // signed with a key in force when it was quoted (13.7)
      const quotedAt = String(proof.commitment.commitment.quoted_at || '').slice(0, 13)
      const named = (await Promise.all([hourAfter(quotedAt, -1), quotedAt].map(sealedRecord)))
        .filter((record) => record && record.chain_hash && record.quote_key).map((record) => record.quote_key)
      const keys = named.length ? named : [await publishedKey()]
      if (!keys.includes(proof.commitment.quote_key)) result.problems.push('the commitment is signed with a key that was not in force when it was quoted')
      result.verdict = result.problems.length ? 'mismatch' : result.verdict
    }
    const receipt = keptReceipt(proof.opening_id)
    if (receipt) {  // the receipt this browser was handed when it opened: the record must still agree with it
      const found = await checkReceipt(proof, receipt, await publishedKey())
      result.problems.push(...found)
      if (receipt.period && !proof.inclusion) {  // its hour sealed without it is a leaf dropped from the record
        try {
          await api('GET', `/api/v1/fairness/records/${encodeURIComponent(receipt.period)}`)
          result.problems.push(`the record of ${receipt.period} is sealed without this opening's leaf`)
        } catch (error) { if (!(error instanceof ApiError) || error.code !== 'RECORD_NOT_SEALED') throw error }
      }
      result.receipt = found.length ? 'contradicted' : 'holds'
      result.verdict = result.problems.length ? 'mismatch' : result.verdict
    }
    if (state.token && proof.vault_item_ids) {  // your own opening: your vault against what the proof delivered
      const vault = await api('GET', '/api/v1/me/vault?limit=100')
      if (vault.items.some((item) => item.opening_id === proof.opening_id) || proof.vault_item_ids.some((id) => vault.items.some((item) => item.vault_item_id === id))) {
        result.problems.push(...await checkVault(proof, vault.items, !vault.next_cursor))
        result.verdict = result.problems.length ? 'mismatch' : result.verdict
      }
    }
    target.innerHTML = `<p>Verdict: <span id="${wordId}" class="verdict-${result.verdict}">${result.verdict}</span>
      ${result.problems.length ? `<ul>${result.problems.map((p) => `<li>${escape(p)}</li>`).join('')}</ul>` : '— recomputed here from the revealed seed, your payment and the published odds, as docs/FAIRNESS.md says.'}</p>
      ${(result.warnings || []).length ? `<ul class="warnings">${result.warnings.map((w) => `<li>Note: ${escape(w)}</li>`).join('')}</ul>` : ''}
      ${result.pending ? `<p class="muted verdict-pending">Not a problem: ${escape(result.pending)}. The draw itself recomputes.</p>` : ''}
      ${result.stockLink ? `<p id="stock-check" class="muted">The limited items' stock it drew with is what link ${result.stockLink} of the pack's public stock chain leaves, recounted here.</p>` : ''}
      ${result.receipt ? `<p id="receipt-check">The record receipt this browser kept from the opening: <strong>${result.receipt}</strong>.</p>` : ''}
      <p class="muted mono">server seed ${escape(proof.server_seed)}<br>client seed ${escape(proof.client_seed)}</p>`
  } catch (error) { target.textContent = describe(error) }
}

// A quote that ended without opening (docs/FAIRNESS.md 13.11): its seed and every ending against the public record.
async function endingInto (record, target, wordId) {
  const { problems, pending } = await checkEnding(record, sealedRecord)
  const verdict = problems.length ? 'mismatch' : pending ? 'incomplete' : 'match'
  target.innerHTML = `<p>This quote ${escape(record.status === 'refund_due' ? 'was recorded for a refund' : record.status)} without opening. Verdict: <span id="${wordId}" class="verdict-${verdict}">${verdict}</span>
      ${problems.length ? `<ul>${problems.map((p) => `<li>${escape(p)}</li>`).join('')}</ul>` : '— its revealed seed is the one its quote committed to, and the public record holds how it ended.'}</p>
    ${pending && !problems.length ? '<p class="muted verdict-pending">Not a problem: the hour it ended in is not sealed yet; check again a few minutes after the hour ends.</p>' : ''}
    <ul id="endings">${(record.endings || []).map((ending) => `<li>${escape(ending.ended_at.slice(0, 16).replace('T', ' '))} UTC: ${escape(ending.outcome.replace('_', ' '))} (${escape(ending.reason)})${ending.would_have_drawn ? ` — would have drawn ${ending.would_have_drawn.items.map((item) => escape(item.item_id)).join(', ')}` : ''}</li>`).join('')}</ul>
    <p class="muted mono">server seed ${escape(record.server_seed)}</p>`
}

async function showVault () {
  if (!state.token) { main.innerHTML = '<h1>Vault</h1><p><a href="#/sign-in">Sign in</a> to see your vault.</p>'; return }
  const live = current()
  const [vault, credits, offers] = await Promise.all([api('GET', '/api/v1/me/vault?limit=100'),
    api('GET', '/api/v1/me/credits?limit=20'), api('GET', '/api/v1/credits/bundles')])
  if (!live()) return
  main.innerHTML = `<h1>Vault</h1><p><strong id="vault-count">${vault.item_count}</strong> ${vault.item_count === 1 ? 'item' : 'items'}, worth <strong id="vault-total">${usd(vault.total_fmv)}</strong> at fair value.</p>
    <div class="table-wrap"><table><thead><tr><th scope="col">Item</th><th scope="col">Rarity</th><th class="num" scope="col">Fair value</th><th scope="col">Opening</th><th scope="col">Instant buyback</th></tr></thead><tbody>
    ${vault.items.map((item) => `<tr data-item="${escape(item.vault_item_id)}"><td class="with-thumb">${picture(item.image_url, '', 'thumb', [24, 32])}${escape(item.name)}</td><td>${escape(item.rarity)}</td><td class="num">${usd(item.fmv)}</td>
      <td><a href="#/opening/${escape(item.opening_id)}">${escape(item.opening_id.slice(0, 8))}</a></td>
      <td>${item.revoked ? '<span class="tag bad">revoked: payment refunded</span>'
        : item.sold_back ? `<span class="tag">sold back for ${item.sold_credits} credits</span>`
          : `<button class="secondary offer" data-opening="${escape(item.opening_id)}" data-item="${escape(item.vault_item_id)}">See the offer</button>`}</td></tr>`).join('')}</tbody></table></div>
    <section aria-labelledby="credits-title"><h2 id="credits-title">Credits</h2>
      <p>Balance: <strong id="credit-balance">${credits.balance}</strong> credits (1 credit = $${escape(credits.credit_value_usd)}). Open packs priced in credits from their page.</p>
      ${credits.entries.length ? `<div class="table-wrap"><table><caption>Ledger, newest first</caption><thead><tr><th scope="col">When (UTC)</th><th scope="col">What</th><th class="num" scope="col">Credits</th></tr></thead><tbody>
        ${credits.entries.map((entry) => `<tr><td>${escape(entry.created_at.slice(0, 16).replace('T', ' '))}</td><td>${escape(LEDGER_KINDS[entry.kind] || entry.kind)}</td>
          <td class="num">${entry.amount > 0 ? '+' : ''}${entry.amount}</td></tr>`).join('')}</tbody></table></div>` : '<p class="muted">No credits moved yet.</p>'}
      <h3>Buy credits</h3><ul class="bundles">${offers.bundles.map((bundle) => {
        const card = bundle.prices.find((p) => p.rail === 'stripe')
        const sol = bundle.prices.find((p) => p.currency === 'SOL')
        return `<li>${escape(bundle.name)}${card ? ` · <button class="secondary buy-bundle" data-bundle="${escape(bundle.bundle_id)}">Pay ${usd(card.amount)} by card</button>` : ''}
          ${sol && state.wallet ? ` · <button class="secondary buy-bundle-sol" data-bundle="${escape(bundle.bundle_id)}">Pay ${escape(sol.amount)} SOL</button>` : ''}</li>`
      }).join('')}</ul><div id="buy"></div></section>`
  for (const button of main.querySelectorAll('button.offer')) button.onclick = () => showOffer(button)
  for (const button of main.querySelectorAll('button.buy-bundle')) button.onclick = () => buyCredits(button.dataset.bundle)
  for (const button of main.querySelectorAll('button.buy-bundle-sol')) {
    button.onclick = async () => {
      say('')
      try {
        const quote = await api('POST', `/api/v1/credits/bundles/${encodeURIComponent(button.dataset.bundle)}/purchase`, { currency: 'SOL' })
        showQuote(quote, 'SOL', document.getElementById('buy'))
      } catch (error) { say(describe(error)) }
    }
  }
}

const LEDGER_KINDS = { buyback: 'Sold an item back', pack_opening: 'Opened a pack', topup: 'Bought credits',
  adjustment: 'Adjusted by an operator', topup_reversal: 'Top-up refunded: credits taken back' }

// The offer is read when asked for (its rate and window were fixed when the pack was quoted), then sold on a
// second, explicit press.
async function showOffer (button) {
  const cell = button.parentElement
  try {
    const path = `/api/v1/me/openings/${encodeURIComponent(button.dataset.opening)}/items/${encodeURIComponent(button.dataset.item)}/buyback`
    const offer = await api('GET', path)
    if (offer.status !== 'available') { cell.textContent = offer.reason; return }
    cell.innerHTML = `${offer.credits} credits ($${escape(offer.value_usd)}, ${Math.round(Number(offer.rate) * 10000) / 100}% of fair value)${offer.available_until ? ` until ${escape(offer.available_until.slice(0, 16).replace('T', ' '))} UTC` : ''}
      <button class="sell">Sell for ${offer.credits} credits</button>`
    cell.querySelector('button.sell').onclick = async () => {
      try {
        const sale = await api('POST', path)
        await route()  // the vault again, with the item marked sold and the new balance
        say(`Sold for ${sale.credits} credits. Your balance is ${sale.balance}.`, true)
      } catch (error) { say(describe(error)) }
    }
  } catch (error) { say(describe(error)) }
}

async function buyCredits (bundleId) {
  say('')
  const back = `${location.origin}${location.pathname}#/credits-return`
  try {
    const started = await api('POST', `/api/v1/credits/bundles/${encodeURIComponent(bundleId)}/checkout`,
      { success_url: back, cancel_url: `${location.origin}${location.pathname}#/vault` })
    location.assign(started.checkout_url)
  } catch (error) { say(describe(error)) }
}

// Back from Stripe after buying credits: the token stayed in memory only, so this says what happens next.
function showCreditsReturn () {
  main.innerHTML = `<h1>Credits on their way</h1><p>Your card payment is being confirmed; the credits are added to your
    balance as soon as Stripe tells us (usually within seconds). <a href="#/sign-in">Sign in</a> again and open your
    <a href="#/vault">vault</a> to see them.</p>`
}

async function openWithCredits (pack, quantity = 1) {
  say('')
  try {
    const opened = await api('POST', `/api/v1/packs/${encodeURIComponent(pack.pack_id)}/purchase`,
      { currency: 'CREDIT', ...(quantity > 1 ? { quantity } : {}) })
    state.lastOpened = opened
    say(`Opened for ${Number(opened.payment.received)} credits; your balance is ${opened.balance}.`, true)
    location.hash = `#/opening/${opened.opening_id}`
  } catch (error) { say(describe(error)) }
}

// --- what packs really give, and the buyer's own history ----------------------------------------------------

function pullList (pulls, probability) {
  if (!pulls.length) return '<p class="muted">None yet.</p>'
  return `<ol class="pulls">${pulls.map((pull) => `<li><strong>${escape(pull.name)}</strong> (${escape(pull.tier_id)})
    ${probability ? `chance ${escape(pull.probability)}` : usd(pull.fmv)} · ${escape(pull.opened_at.slice(0, 16).replace('T', ' '))} UTC ·
    <a href="#/verify/${encodeURIComponent(pull.opening_id)}">verify its proof</a></li>`).join('')}</ol>`
}

function windowView (window, name) {
  return `<p><strong>${window.openings}</strong> openings, <strong>${window.draws}</strong> items drawn ${name}.</p>
    ${window.most_pulled.length ? `<div class="table-wrap"><table><caption>Most pulled ${name}</caption><thead><tr><th scope="col">Item</th><th class="num" scope="col">Pulled</th></tr></thead>
    <tbody>${window.most_pulled.map((row) => `<tr><td>${escape(row.name)}</td><td class="num">${row.count}</td></tr>`).join('')}</tbody></table></div>` : ''}`
}

function fitView (fit) {
  const verdict = !fit.chi_square.valid ? 'Too few draws at the published odds to judge yet.'
    : fit.drift ? `The draws disagree with the published odds (p = ${fit.chi_square.p_value}).`
      : `The draws agree with the published odds (p = ${fit.chi_square.p_value}).`
  return `<p id="fit-verdict"><strong>${escape(verdict)}</strong> Pearson's chi-square ${fit.chi_square.statistic} on
    ${fit.chi_square.degrees_of_freedom} degrees of freedom, ${fit.chi_square.sample_size} draws (odds version ${fit.odds_version}).</p>
    ${fit.slots.map((slot) => `<figure class="card" id="slot-${slot.slot}">
      ${oddsChart(slot.tiers, `Slot ${slot.slot + 1}: published and realized tier odds over ${slot.draws} draws`)}
      <figcaption>Slot ${slot.slot + 1}: outlined bars are the published odds, filled bars the share drawn, the line its 95% interval.</figcaption>
      <div class="table-wrap"><table><thead><tr><th scope="col">Tier</th><th class="num" scope="col">Published</th><th class="num" scope="col">Drawn</th>
        <th class="num" scope="col">Share</th><th class="num" scope="col">95% interval</th><th class="num" scope="col">p-value</th></tr></thead>
      <tbody>${slot.tiers.map((tier) => `<tr data-tier="${escape(tier.tier_id)}"><td>${escape(tier.tier_id)}</td><td class="num">${escape(tier.published)}</td>
        <td class="num">${tier.observed}</td><td class="num">${tier.observed_share === null ? '—' : escape(tier.observed_share)}</td>
        <td class="num">${tier.interval_95 ? `${escape(tier.interval_95[0])}–${escape(tier.interval_95[1])}` : '—'}</td><td class="num">${tier.p_value}</td></tr>`).join('')}</tbody></table></div>
    </figure>`).join('')}`
}

async function showStats (packId) {
  const live = current()
  const stats = await api('GET', `/api/v1/packs/${encodeURIComponent(packId)}/stats`)
  if (!live()) return
  main.innerHTML = `<h1>${escape(stats.name)}: what it has really given</h1>
    <p class="muted">${stats.through ? `Counted from the public record through ${escape(stats.through)}:00 UTC.` : 'No hour of the public record with this pack\'s openings is sealed yet.'}
    Where the numbers come from: ${escape(stats.source)} <a href="#/pack/${encodeURIComponent(packId)}">Back to the pack</a></p>
    <section aria-labelledby="fit-title"><h2 id="fit-title">Realized odds against published odds</h2>
      ${stats.realized_odds ? fitView(stats.realized_odds) : '<p>No published odds to compare.</p>'}</section>
    <section aria-labelledby="rarest-title"><h2 id="rarest-title">Rarest pulls</h2>${pullList(stats.all_time.rarest_pulls, true)}</section>
    <section aria-labelledby="biggest-title"><h2 id="biggest-title">Biggest pulls</h2>${pullList(stats.all_time.biggest_pulls, false)}</section>
    <section aria-labelledby="all-title"><h2 id="all-title">All time</h2>${windowView(stats.all_time, 'over all time')}</section>
    <section aria-labelledby="day-title"><h2 id="day-title">Last 24 hours</h2>${windowView(stats.last_24_hours, 'in the last 24 hours')}</section>`
}

const history = { rows: [], cursor: null }

async function showHistory () {
  if (!state.token) { main.innerHTML = '<h1>History</h1><p><a href="#/sign-in">Sign in</a> to see your openings.</p>'; return }
  const live = current()
  const page = await api('GET', '/api/v1/me/openings?limit=50')
  if (!live()) return
  history.rows = page.openings
  history.cursor = page.next_cursor
  main.innerHTML = `<h1>History</h1>
    <form id="history-filters" class="filters">
      <div><label for="filter-pack">Pack</label><select id="filter-pack"></select></div>
      <div><label for="filter-status">Status</label><select id="filter-status"></select></div>
      <div><label for="filter-rail">Paid with</label><select id="filter-rail"></select></div>
    </form>
    <p id="history-count" aria-live="polite"></p>
    <div class="table-wrap"><table><thead><tr><th scope="col">When (UTC)</th><th scope="col">Pack</th><th scope="col">Status</th><th scope="col">Paid with</th>
      <th class="num" scope="col">Items</th><th scope="col">Proof</th></tr></thead><tbody id="history-rows"></tbody></table></div>
    <p><button class="secondary" id="history-more">Load older openings</button></p>`
  document.getElementById('history-filters').onchange = drawHistory
  document.getElementById('history-more').onclick = async () => {
    const older = await api('GET', `/api/v1/me/openings?limit=50&cursor=${encodeURIComponent(history.cursor)}`)
    history.rows.push(...older.openings)
    history.cursor = older.next_cursor
    drawHistory()
  }
  drawHistory()
}

function fillSelect (id, values) {
  const select = document.getElementById(id)
  const chosen = select.value
  select.innerHTML = `<option value="">All</option>${[...new Set(values)].sort().map((v) => `<option${v === chosen ? ' selected' : ''}>${escape(v)}</option>`).join('')}`
}

function drawHistory () {
  fillSelect('filter-pack', history.rows.map((row) => row.pack_id))
  fillSelect('filter-status', history.rows.map((row) => row.status))
  fillSelect('filter-rail', history.rows.map((row) => row.rail))
  const wanted = { pack_id: 'filter-pack', status: 'filter-status', rail: 'filter-rail' }
  const shown = history.rows.filter((row) => Object.entries(wanted).every(([field, id]) => {
    const value = document.getElementById(id).value
    return !value || row[field] === value
  }))
  document.getElementById('history-count').textContent = `${shown.length} of ${history.rows.length} openings shown, newest first.`
  document.getElementById('history-rows').innerHTML = shown.map((row) => `<tr data-opening="${escape(row.opening_id)}">
    <td>${escape((row.opened_at || row.created_at).slice(0, 16).replace('T', ' '))}</td><td>${escape(row.pack_id)}</td>
    <td>${escape(row.status)}</td><td>${escape(row.rail)}</td><td class="num">${row.items.length}</td>
    <td>${row.quote && row.quote.product === 'game_credit' ? `<a href="#/order/${encodeURIComponent(row.opening_id)}">order</a>`
      : row.status === 'opened' && !(row.quote && row.quote.product) ? `<a href="#/opening/${encodeURIComponent(row.opening_id)}">reveal</a> · <a href="#/verify/${encodeURIComponent(row.opening_id)}">verify</a>` : ''}</td></tr>`).join('')
  document.getElementById('history-more').hidden = !history.cursor
}

// --- game-credit top-ups (seed 001's products): the game account form each game's schema asks for -------------

async function showTopups () {
  const live = current()
  const { games } = await api('GET', '/api/v1/game-credits')
  if (!live()) return
  main.innerHTML = `<h1>Game credits</h1><p>Top up a game account: choose an amount, fill in the account, pay; the credits
    are delivered to the game and the order shows each step.</p>${games.map((game) => topupForm(game)).join('')}`
  for (const game of games) {
    const form = document.getElementById(`topup-${game.game_id}`)
    form.onsubmit = (event) => { event.preventDefault(); buyTopup(game, form, event.submitter ? event.submitter.value : 'solana') }
  }
}

function topupForm (game) {
  const schema = game.user_data_schema || { properties: {} }
  const required = new Set(schema.required || [])
  const fields = Object.entries(schema.properties || {}).map(([name, rule]) => {
    const id = `${game.game_id}-${name}`
    const label = `${escape(name.replaceAll('_', ' '))}${required.has(name) ? '' : ' (optional)'}`
    if (rule.enum) {
      return `<div><label for="${id}">${label}</label><select id="${id}" name="${escape(name)}"${required.has(name) ? ' required' : ''}>
        ${required.has(name) ? '' : '<option value="">—</option>'}${rule.enum.map((v) => `<option>${escape(v)}</option>`).join('')}</select></div>`
    }
    return `<div><label for="${id}">${label}</label><input id="${id}" name="${escape(name)}" autocomplete="off"${required.has(name) ? ' required' : ''}
      ${rule.maxLength ? ` maxlength="${rule.maxLength}"` : ''}></div>`  // the schema's pattern is checked by the API, which names the field
  }).join('')
  return `<section class="card" aria-labelledby="game-${escape(game.game_id)}"><h2 id="game-${escape(game.game_id)}">${escape(game.name)}</h2>
    <form id="topup-${escape(game.game_id)}">
      <fieldset><legend>Amount</legend>${game.items.map((item, n) => {
        const sol = item.prices.find((p) => p.currency === 'SOL')
        const card = item.prices.find((p) => p.rail === 'stripe')
        return `<label class="choice"><input type="radio" name="item" value="${escape(item.item_id)}"${n === 0 ? ' checked' : ''}> ${escape(item.name)}
          <span class="muted">${sol ? `${escape(sol.amount)} SOL` : ''}${sol && card ? ' · ' : ''}${card ? usd(card.amount) : ''}</span></label>`
      }).join('')}</fieldset>
      ${fields}
      <p><button name="rail" value="solana">Pay in SOL</button> <button class="secondary" name="rail" value="card">Pay by card</button></p>
    </form><div id="topup-quote-${escape(game.game_id)}"></div></section>`
}

const NAMED_FIELDS = ['game_account_id', 'server_id', 'in_game_name']  // seed 001's names; the rest: additional_info

async function buyTopup (game, form, rail) {
  say('')
  if (!state.token) { say('Sign in first (a passkey, an emailed code or a Solana wallet).'); return }
  const data = new FormData(form)
  const itemId = data.get('item')
  const body = { additional_info: {} }
  for (const [name, value] of data.entries()) {
    if (name === 'item' || value === '') continue
    if (NAMED_FIELDS.includes(name)) body[name] = value
    else body.additional_info[name] = value
  }
  try {
    if (rail === 'card') {
      const back = `${location.origin}${location.pathname}`
      const started = await api('POST', `/api/v1/game-credits/${encodeURIComponent(itemId)}/checkout`,
        { ...body, success_url: `${back}#/history`, cancel_url: `${back}#/top-ups` })
      location.assign(started.checkout_url)
      return
    }
    const quote = await api('POST', `/api/v1/game-credits/${encodeURIComponent(itemId)}/purchase`, { ...body, currency: 'SOL' })
    showQuote(quote, 'SOL', document.getElementById(`topup-quote-${game.game_id}`))
  } catch (error) { say(describe(error)) }
}

const ORDER_STEPS = { paid: 'Paid: waiting to be sent to the game', fulfilling: 'Being delivered to the game',
  succeeded: 'Delivered to the game account', failed: 'Not delivered: it will be refunded',
  refund_due: 'Not delivered: the payment is being refunded', refunded: 'Refunded' }

// An order's progress, read through seed 001's GraphQL API with the same token, until it is delivered or has failed.
async function showOrder (orderId) {
  if (!state.token) { main.innerHTML = '<h1>Your order</h1><p><a href="#/sign-in">Sign in</a> to follow your order.</p>'; return }
  const live = current()
  for (let attempt = 0; attempt < 40 && live(); attempt++) {
    const answer = await graphql('query ($id: ID!) { order(id: $id) { orderNumber status amount currency userData createdAt } }', { id: orderId })
    const order = answer.order
    if (!order) throw new Error('No such order belongs to you.')
    main.innerHTML = `<h1>Order ${escape(order.orderNumber)}</h1>
      <p id="order-status" data-status="${escape(order.status)}"><strong>${escape(ORDER_STEPS[order.status] || order.status)}</strong></p>
      <p>${escape(order.amount)} ${escape(order.currency)} · ${escape(Object.entries(order.userData || {}).map(([k, v]) => `${k}: ${v}`).join(', '))}</p>`
    if (['succeeded', 'failed', 'refund_due', 'refunded'].includes(order.status)) return
    await sleep(1500)
  }
}

async function graphql (query, variables) {
  const answer = await api('POST', '/graphql', { query, variables })
  if (answer.errors && answer.errors.length) throw new Error(answer.errors[0].message)
  return answer.data
}

// Operators: their page is loaded only when opened (buyers never download it).
async function showOperators (packId) {
  if (!state.token) { main.innerHTML = '<h1>Operators</h1><p><a href="#/sign-in">Sign in</a> with an operator\'s account.</p>'; return }
  const live = current()
  const admin = await import('./admin.js')
  if (!live()) return
  const ui = { api, escape, main, say, describe, route }
  if (packId) await admin.showAdminPack(ui, packId)
  else await admin.showAdmin(ui)
}

async function showVerify (openingId) {
  main.innerHTML = `<h1>Verify an opening</h1>
    <p>Anyone can recompute any opening from its public proof. This page does it with your browser's own WebCrypto,
    following <code>docs/FAIRNESS.md</code>: an implementation independent of the server's.</p>
    <form id="verify-form"><label for="opening-id">Opening id</label>
      <input id="opening-id" required pattern="[0-9a-f-]{36}" size="40"> <button>Verify</button></form>
    <div id="verdict" aria-live="polite"></div>
    <h2>The specification's own test vectors</h2>
    <p><button class="secondary" id="run-vectors">Run docs/FAIRNESS.md's vectors here</button></p>
    <div id="vector-results" aria-live="polite"></div>`
  document.getElementById('run-vectors').onclick = runVectors
  document.getElementById('verify-form').onsubmit = (event) => {
    event.preventDefault()
    verifyInto(document.getElementById('opening-id').value.trim(), document.getElementById('verdict'))
  }
  if (openingId) {
    document.getElementById('opening-id').value = openingId
    await verifyInto(openingId, document.getElementById('verdict'))
  }
}

async function runVectors () {
  const target = document.getElementById('vector-results')
  target.textContent = 'Running…'
  const vectors = await (await fetch('fairness-vectors.json')).json()
  const rows = []
  for (const vector of vectors.v1.random_below) {
    const value = await randomBelow(hexToBytes(vector.server_seed), vector.context, BigInt(vector.bound))
    rows.push([`random_below ${vector.context.join(',')} < ${vector.bound}`, value.toString() === vector.value])
  }
  for (const opening of [...vectors.v1.openings, ...vectors.v2.openings_v2]) {
    rows.push([opening.name, (await verifyProof(opening)).verdict === 'match'])
  }
  for (const [index, id] of vectors.bundles.unit_ids.entries()) {
    rows.push([`bundle: unit ${index}'s opening id follows from the bundle id`, await unitOpeningId(vectors.bundles.bundle_id, index) === id])
  }
  for (const opening of vectors.bundles.openings) rows.push([opening.name, (await verifyProof(opening)).verdict === 'match'])
  for (const seed of vectors.v3.client_seeds) {
    const parts = clientSeedParts(seed.client_seed)
    rows.push([`v3 client seed ${seed.client_seed}`, canonicalJson([seed.entropy, seed.quote_seed]) === seed.client_seed &&
      parts !== null && parts[0] === seed.entropy && parts[1] === seed.quote_seed])
  }
  const signed = vectors.v3.signed_commitment
  rows.push(['v3 commitment: canonical JSON, quote_hash and Ed25519 signature', canonicalJson(signed.commitment) === signed.canonical_json &&
    await sha256Hex(new TextEncoder().encode(signed.canonical_json)) === signed.quote_hash &&
    await verifySignature(signed.commitment, signed.quote_signature, signed.quote_key)])
  for (const opening of vectors.v3.openings_v3) {
    const result = await verifyProof(opening)
    rows.push([opening.name, result.verdict === 'match' && result.warnings.length === 0])
  }
  const definitions = vectors.v2.item_definitions
  rows.push(['item definitions: canonical JSON and items_hash', canonicalJson(definitions.definitions) === definitions.canonical_json &&
    await sha256Hex(new TextEncoder().encode(definitions.canonical_json)) === definitions.items_hash])
  const merkle = vectors.v2.merkle
  for (const [index, path] of Object.entries(merkle.paths)) {
    rows.push([`record: leaf ${index}'s inclusion path leads to the root`, await rootFromPath(merkle.leaves[index], path) === merkle.root])
  }
  let prev = '0'.repeat(64)
  for (const link of vectors.v2.stock_chain.links) {
    const body = { pack_id: link.pack_id, seq: link.seq, prev: link.prev, stock_totals: link.stock_totals, supply_total: link.supply_total, at: link.at }
    rows.push([`stock chain: link ${link.seq} hashes and follows the one before`, link.prev === prev &&
      await sha256Hex(new TextEncoder().encode(canonicalJson(body))) === link.hash])
    prev = link.hash
  }
  await stockAccountingVectors(vectors, rows)
  const tree = vectors.v3_tree
  for (const [index, path] of Object.entries(tree.paths)) {
    rows.push([`record, tree 2: leaf ${index}'s inclusion path leads to the root (and not as tree 1)`,
      await rootFromPath(tree.leaves[index], path, 2) === tree.root && await rootFromPath(tree.leaves[index], path, 1) !== tree.root])
  }
  rows.push(['record, tree 2: a sealed hour\'s chain hash covers its tree', (await checkChain(tree.sealed, async (period) =>
    period === tree.sealed.prev_period ? { chain_hash: tree.sealed.prev } : null)).length === 0])
  const seals = Object.fromEntries(vectors.v3.chained_seals.map((sealed) => [sealed.period, sealed]))
  for (const sealed of vectors.v3.chained_seals) {
    rows.push([`chained seal ${sealed.period}: its chain hash recomputes and it sits on the hour before`,
      (await checkChain(sealed, async (period) => seals[period] || null)).length === 0])
  }
  const passed = rows.filter(([, ok]) => ok).length
  target.innerHTML = `<p id="vector-summary"><strong>${passed} of ${rows.length}</strong> vectors agree with this browser's implementation.</p>
    <ul class="vectors">${rows.map(([name, ok]) => `<li>${ok ? '✓' : '✗'} ${escape(name)}</li>`).join('')}</ul>`
}

// FAIRNESS.md 13.10 and 13.11: the stock chain counts what each link leaves, a draw's stock follows from the link
// its proof names, and an ending's leaf commits to its document.
async function stockAccountingVectors (vectors, rows) {
  const hashOf = async (value) => sha256Hex(new TextEncoder().encode(canonicalJson(value)))
  let prev = '0'.repeat(64)
  let before = null
  for (const link of vectors.v3_stock.stock_chain.links) {
    const { hash, ...body } = link
    rows.push([`stock accounting: link ${link.seq} (${link.kind}) hashes, follows the one before and counts what it leaves`,
      link.prev === prev && await hashOf(body) === hash && canonicalJson(leftAfter(before, link)) === canonicalJson(link.left)])
    prev = hash
    before = link
  }
  for (const draw of vectors.v3_stock.draws) {
    const link = vectors.v3_stock.stock_chain.links[draw.stock_link.seq - 1]
    rows.push([`stock accounting: a draw committed to ${canonicalJson(draw.stock_committed)} at link ${link.seq}`,
      link.hash === draw.stock_link.hash && canonicalJson(stockAt(link, draw.stock_committed)) === canonicalJson(draw.stock)])
  }
  const { ending, ending_hash: endingHash, leaf } = vectors.v3_ending
  rows.push(['ending: a quote that ended without opening is the leaf its document hashes to', await hashOf(ending) === endingHash &&
    await hashOf({ opening_id: ending.opening_id, pack_id: ending.pack_id, ended_at: ending.ended_at, outcome: ending.outcome, ending_hash: endingHash }) === leaf])
}

// --- routing ----------------------------------------------------------------------------------------------

async function route () {
  state.view = Symbol('view')
  say('')
  const [, page, id] = location.hash.split('/')
  try {
    if (page === 'card-return') {
      const openingId = sessionStorage.getItem('packvault-card-opening')
      if (!openingId) throw new Error('No card payment is waiting here.')
      location.replace(`#/opening/${openingId}`)
    } else if (page === 'credits-return') showCreditsReturn()
    else if (page && page.startsWith('open-payments-return')) await showOpenPaymentsReturn()
    else if (page === 'pack' && id) await showPack(decodeURIComponent(id))
    else if (page === 'opening' && id) await showOpening(decodeURIComponent(id))
    else if (page === 'vault') await showVault()
    else if (page === 'sign-in') showSignIn()
    else if (page === 'account') await showAccount()
    else if (page === 'verify') await showVerify(id ? decodeURIComponent(id) : null)
    else if (page === 'stats' && id) await showStats(decodeURIComponent(id))
    else if (page === 'history') await showHistory()
    else if (page === 'top-ups') await showTopups()
    else if (page === 'order' && id) await showOrder(decodeURIComponent(id))
    else if (page === 'admin') await showOperators(id === 'pack' ? decodeURIComponent(location.hash.split('/')[3] || '') : null)
    else await showPacks()
  } catch (error) {
    main.innerHTML = ''
    say(describe(error))
  }
}

async function start () {
  state.config = await (await fetch('config.json')).json()
  state.config.api = (state.config.api || '').replace(/\/$/, '')
  discoverWallets((wallets) => { state.wallets = [...wallets]; if (!state.token) renderAccount() })
  renderAccount()
  window.addEventListener('hashchange', route)
  await route()
}

start()
