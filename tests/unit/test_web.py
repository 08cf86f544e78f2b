"""The storefront's files as `make run` and `make web` serve them: only web/'s own files, the configuration the
page reads first, and docs/FAIRNESS.md's vectors as the page runs them."""

from __future__ import annotations

import json

from packvault_tools import web


def test_only_the_storefronts_own_files_are_served():
    page, kind = web.static_file("/")
    assert b"<title>Packvault</title>" in page and kind.startswith("text/html")
    assert web.static_file("/app.js")[1].startswith("text/javascript")
    for outside in ("/../template.yaml", "/%2e%2e/template.yaml", "/../../etc/passwd", "/nope.js", "/web",
                    "/../docs/FAIRNESS.md"):
        assert web.static_file(outside) is None, outside


def test_the_configuration_and_the_vectors_the_page_reads():
    config = json.loads(web.generated("config.json", "", "http://127.0.0.1:8899", "localnet"))
    assert config == {"api": "", "solana_rpc": "http://127.0.0.1:8899", "cluster": "localnet"}
    vectors = json.loads(web.generated("fairness-vectors.json", "", "", "localnet"))
    assert len(vectors["v1"]["openings"]) >= 6 and vectors["v2"]["openings_v2"] and vectors["v2"]["merkle"]["root"]
    assert web.generated("app.js", "", "", "localnet") is None


def test_make_web_writes_a_complete_static_site(tmp_path):
    web.build(tmp_path, "https://api.example", "https://rpc.example", "mainnet")
    names = {path.name for path in tmp_path.rglob("*") if path.is_file()}
    assert {"index.html", "app.js", "fairness.js", "solana.js", "wallet.js", "styles.css", "config.json",
            "fairness-vectors.json", "qrcode.mjs", "admin.js", "charts.js"} <= names
    assert (tmp_path / "images" / "pack-genesis-drop.svg").is_file()  # the demo catalog's pictures ship with it
    assert json.loads((tmp_path / "config.json").read_text())["api"] == "https://api.example"


def test_the_pages_associated_token_addresses_are_solanas(tmp_path):
    """web/solana.js derives associated token accounts itself (a program-derived address: the first bump whose hash
    is off the ed25519 curve); 40 random owner/mint pairs agree with solders' find_program_address, several bumps
    below 255 among them (the off-curve check decides those)."""
    import shutil
    import subprocess

    import pytest
    from solders.keypair import Keypair
    from solders.pubkey import Pubkey

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    token, ata = (Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"),
                  Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"))
    cases, bumps = [], set()
    for _ in range(40):
        owner, mint = Keypair().pubkey(), Keypair().pubkey()
        address, bump = Pubkey.find_program_address([bytes(owner), bytes(token), bytes(mint)], ata)
        cases.append([str(owner), str(mint), str(address)])
        bumps.add(bump)
    script = tmp_path / "ata.mjs"
    script.write_text(f"""import {{ associatedTokenAddress }} from '{web.WEB / "solana.js"}'
const cases = {json.dumps(cases)}
const found = []
for (const [owner, mint] of cases) found.push(await associatedTokenAddress(owner, mint))
console.log(JSON.stringify(found))
""")
    derived = json.loads(subprocess.run([node, str(script)], capture_output=True, text=True, check=True,
                                        timeout=60).stdout)
    assert derived == [expected for _, _, expected in cases]
    assert len(bumps) > 1
