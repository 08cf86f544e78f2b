"""The stock chain's rules that need no table (docs/FAIRNESS.md 13.10): what a quote made at a moment may have
committed to, and what a proof's named link says about its stock."""

from __future__ import annotations

from packvault.fairness import stock_chain


def chain() -> list[dict]:
    first = stock_chain.load_link(None, "p", {"crown": 40}, None, "2026-12-05T10:00:00.000Z")
    cut = stock_chain.load_link(stock_chain.state_of(first), "p", {"crown": 30}, None, "2026-12-05T11:00:00.000Z")
    return [first, cut]


def test_a_quote_made_just_after_a_loads_link_time_may_commit_the_totals_before_it():
    links = chain()
    assert stock_chain.totals_in_force(links, "2026-12-05T11:00:02.000Z") == [{"crown": 40}, {"crown": 30}]
    assert stock_chain.totals_in_force(links, "2026-12-05T11:00:06.000Z") == [{"crown": 30}]  # past the grace
    assert stock_chain.totals_in_force(links, "2026-12-05T09:00:00.000Z") == []  # before the chain


def test_a_proof_must_draw_what_its_named_link_leaves_and_be_the_next_link_when_it_took_units():
    links = chain()
    state = stock_chain.state_of(links[1])
    proof = {"opening_id": "o1", "stock_committed": {"crown": 40}, "stock": {"crown": 40},
             "stock_link": {"seq": 2, "hash": links[1]["hash"]}, "items": [{"tier_id": "t", "item_id": "crown"}],
             "abandoned_rounds": []}
    taker = stock_chain.opening_link(state, "p", "o1", {"crown": 1}, "2026-12-05T11:30:00.000Z")
    assert stock_chain.derived_stock(state, {"crown": 40}) == {"crown": 40}  # 0 drawn since the cut's total
    assert stock_chain.proof_problems(proof, [*links, taker]) == []
    assert any("does not record" in p for p in stock_chain.proof_problems(proof, links))  # its link is missing
    lowered = {**proof, "stock": {"crown": 0}}
    assert any("is not what the stock chain's link 2 leaves" in p for p in stock_chain.proof_problems(lowered, links))
    moved = {**proof, "stock_link": {"seq": 2, "hash": "0" * 64}}
    assert any("no link 2 with the hash" in p for p in stock_chain.proof_problems(moved, [*links, taker]))
    none_taken = {**proof, "items": [{"tier_id": "t", "item_id": "penny"}]}
    assert any("did not take" in p for p in stock_chain.proof_problems(none_taken, [*links, taker]))


def test_a_draw_must_use_the_head_of_when_it_opened_not_an_older_count():
    links = chain()
    proof = {"opening_id": "o2", "stock_committed": {"crown": 40}, "stock": {"crown": 40},
             "stock_link": {"seq": 1, "hash": links[0]["hash"]}, "items": [{"tier_id": "t", "item_id": "penny"}],
             "abandoned_rounds": []}
    assert stock_chain.proof_problems({**proof, "opened_at": "2026-12-05T11:00:03.000Z"}, links) == []  # in the race
    stale = stock_chain.proof_problems({**proof, "opened_at": "2026-12-05T12:00:00.000Z"}, links)
    assert stale == ["the draw used link 1, but link 2 was written before it opened: a stale count"]
