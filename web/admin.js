// The operators' page (same site, loaded only when an operator opens #/admin): the packs with their counters,
// put on sale or take off sale, a pack's odds edited and saved with the conflict check (If-Match: the definition
// hash the edit started from), and the payments waiting for a refund. Only the admin API; support may look,
// admin may change. Every change carries a new Idempotency-Key (the admin API asks for one).

export async function showAdmin (ui) {
  const { api, escape, main } = ui
  const [{ packs }, { refunds }] = await Promise.all([api('GET', '/api/v1/admin/packs'), api('GET', '/api/v1/admin/refunds')])
  main.innerHTML = `<h1>Operators</h1>
    <section aria-labelledby="packs-title"><h2 id="packs-title">Packs</h2><div class="table-wrap"><table>
      <thead><tr><th scope="col">Pack</th><th scope="col">Status</th><th class="num" scope="col">Opened</th><th class="num" scope="col">Supply left</th><th scope="col">Change</th></tr></thead>
      <tbody>${packs.map((pack) => `<tr data-pack="${escape(pack.pack_id)}"><td><a href="#/admin/pack/${encodeURIComponent(pack.pack_id)}">${escape(pack.name)}</a>
        <span class="muted mono">${escape(pack.pack_id)}</span></td><td>${escape(pack.status)}</td><td class="num">${pack.opened_count}</td>
        <td class="num">${pack.supply ? `${pack.supply.available} of ${pack.supply.total}` : '∞'}</td>
        <td><button class="secondary status" data-pack="${escape(pack.pack_id)}" data-to="${pack.status === 'ACTIVE' ? 'deactivate' : 'activate'}">${pack.status === 'ACTIVE' ? 'Take off sale' : 'Put on sale'}</button></td></tr>`).join('')}</tbody></table></div></section>
    <section aria-labelledby="refunds-title"><h2 id="refunds-title">Refunds due</h2>
      ${refunds.length ? `<div class="table-wrap"><table><thead><tr><th scope="col">Opening</th><th scope="col">Rail</th><th class="num" scope="col">Amount</th><th scope="col">Why</th></tr></thead>
        <tbody>${refunds.map((r) => `<tr><td class="mono">${escape(r.opening_id)}</td><td>${escape(r.rail)}</td><td class="num">${escape(r.amount || '')} ${escape(r.currency || '')}</td>
          <td>${escape(r.reason || '')}</td></tr>`).join('')}</tbody></table></div>` : '<p id="no-refunds">No payment is waiting for a refund.</p>'}</section>`
  for (const button of main.querySelectorAll('button.status')) {
    button.onclick = async () => {
      try {
        await api('POST', `/api/v1/admin/packs/${encodeURIComponent(button.dataset.pack)}/${button.dataset.to}`, {},
          { 'Idempotency-Key': crypto.randomUUID() })
        await ui.route()
        ui.say(`${button.dataset.pack}: ${button.dataset.to === 'activate' ? 'on sale' : 'off sale'}.`, true)
      } catch (error) { ui.say(ui.describe(error)) }
    }
  }
}

// Odds are edited where the definition keeps them: per slot when the pack has slots, else per tier.
export async function showAdminPack (ui, packId) {
  const { api, escape, main } = ui
  const { pack, definition } = await api('GET', `/api/v1/admin/packs/${encodeURIComponent(packId)}`)
  const rows = definition.slots
    ? definition.slots.flatMap((slot, s) => Object.entries(slot.tiers).map(([tier, probability]) => ({ key: `${s}:${tier}`, label: `Slot ${s + 1} · ${tier}`, probability })))
    : definition.tiers.map((tier) => ({ key: tier.tier_id, label: tier.name, probability: tier.probability }))
  main.innerHTML = `<h1>${escape(pack.name)}: odds</h1>
    <p class="muted">Odds version ${pack.odds_version} · definition <span class="mono" id="definition-hash">${escape(pack.definition_hash)}</span>.
      Probabilities are decimals with at most 6 places; each slot's (or the pack's) must add up to 1. Saving makes a new
      odds version; quotes already given keep theirs.</p>
    <form id="odds-form">${rows.map((row, n) => `<div><label for="odds-${n}">${escape(row.label)}</label>
      <input id="odds-${n}" data-key="${escape(row.key)}" value="${escape(row.probability)}" inputmode="decimal" required pattern="0(\\.[0-9]{1,6})?|1(\\.0{1,6})?"></div>`).join('')}
      <button>Save the odds</button></form>
    <p><a href="#/admin">Back to the packs</a></p>`
  document.getElementById('odds-form').onsubmit = async (event) => {
    event.preventDefault()
    const values = Object.fromEntries([...main.querySelectorAll('#odds-form input')].map((input) => [input.dataset.key, input.value.trim()]))
    const patch = definition.slots
      ? { slots: definition.slots.map((slot, s) => ({ ...slot, tiers: Object.fromEntries(Object.keys(slot.tiers).map((tier) => [tier, values[`${s}:${tier}`]])) })) }
      : { tiers: definition.tiers.map((tier) => ({ ...tier, probability: values[tier.tier_id] })) }
    try {
      const changed = await api('PATCH', `/api/v1/admin/packs/${encodeURIComponent(packId)}`, patch,
        { 'If-Match': pack.definition_hash, 'Idempotency-Key': crypto.randomUUID() })
      await ui.route()
      ui.say(`Saved: odds version ${changed.pack.odds_version}.`, true)
    } catch (error) { ui.say(ui.describe(error)) }
  }
}
