"""Team mode in the browser: sign-in through a real OpenID Connect provider (a mock one,
started here on localhost), owners, shares, view-only links, revocation and sign-out."""

from __future__ import annotations

import json
import re
import secrets
import time
from urllib.parse import quote

import pytest

from core.workspace.session import VIEW_ONLY_HELP
from tests.browser.conftest import _serve, no_bug, save_a_step, shoot, tooltip
from ui.state import DENIED_TITLE
from ui.text import JOINER

pytestmark = pytest.mark.browser
ANA, BO = "ana@example.com", "bo@example.com"
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def oidc():
    mock = pytest.importorskip("oidc_provider_mock")
    with mock.run_server_in_thread() as server:
        yield f"http://127.0.0.1:{server.server_port}"


@pytest.fixture(scope="module")
def team_server(tmp_path_factory, oidc):
    folder = tmp_path_factory.mktemp("team_secrets")
    secrets_file = folder / "secrets.toml"
    secrets_file.write_text(
        "[auth]\n"
        'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        'client_id = "persona-lens"\n'
        'client_secret = "test-secret"\n'
        f'server_metadata_url = "{oidc}/.well-known/openid-configuration"\n')
    yield from _serve(tmp_path_factory, ["--secrets.files", str(secrets_file)],
                      {"PERSONA_LENS_MODE": "team", "PERSONA_LENS_UMAP_WARMUP": "0"})


def _sign_in(browser, server, oidc, who: str):
    import httpx

    response = httpx.put(f"{oidc}/users/{quote(who)}", json={"email": who, "name": who})
    assert response.status_code == 204
    context = browser.new_context(viewport={"width": 1440, "height": 1000},
                                  accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(server["url"])
    page.get_by_role("heading", name="Sign in to Persona Lens").wait_for()
    started = time.monotonic()
    page.get_by_role("button", name="Sign in").click()
    page.get_by_placeholder("sub").fill(who)
    page.get_by_role("button", name="Authorize").click()
    signed_in = page.get_by_text("Signed in as")
    signed_in.wait_for(timeout=90_000)
    # Shown inert: a word joiner after the "@" keeps Markdown from making it a link.
    assert signed_in.inner_text().replace(JOINER, "") == f"Signed in as {who}"
    page.get_by_role("heading", name="Persona Lens").first.wait_for(timeout=90_000)
    TIMINGS.setdefault("sign_in_to_home_s", time.monotonic() - started)
    return page


def _idle(page) -> None:
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=90_000)


def _nav(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    _idle(page)


def _refused(page) -> None:
    page.get_by_role("heading", name=DENIED_TITLE).wait_for()
    # Nothing about the workspace: not its dataset, not its pages' content.
    assert page.get_by_text("Sample: online shop").count() == 0
    assert page.get_by_text("LOADED DATA").count() == 0


def _audit(server) -> list[dict]:
    path = server["home"] / "workspaces" / "audit.log"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_owners_shares_links_and_sign_out(browser, team_server, oidc):
    url = team_server["url"]
    bo = _sign_in(browser, team_server, oidc, BO)
    shoot(bo, "120_team_home_signed_in")
    bo_ws = save_a_step(bo)
    assert (team_server["home"] / "workspaces" / bo_ws / "access.json").exists()

    # Ana cannot list Bo's workspace, nor open it by its id; the attempt is logged.
    ana = _sign_in(browser, team_server, oidc, ANA)
    _nav(ana, "Data")
    ana.get_by_text("Saved workspaces").first.click()
    ana.get_by_text("No other saved workspaces.").wait_for()
    assert ana.get_by_text(bo_ws).count() == 0
    ana.goto(f"{url}/?ws={bo_ws}")
    _refused(ana)
    shoot(ana, "121_team_refused")
    assert any(e["event"] == "refused" and e["identity"] == ANA and e["workspace"] == bo_ws
               for e in _audit(team_server))

    # Bo shares it with Ana for viewing.
    _nav(bo, "Sharing")
    bo.get_by_label("Share with (e-mail as they sign in)").fill(ANA.upper())
    bo.get_by_role("button", name="Share").click()
    bo.get_by_role("button", name="Revoke").first.wait_for()
    assert ANA in bo.get_by_test_id("stMain").inner_text().replace(JOINER, "")
    shoot(bo, "122_team_sharing")

    # Ana views it: every page, downloads, and no button that would change it.
    started = time.monotonic()
    ana.goto(f"{url}/?ws={bo_ws}")
    ana.get_by_text("View only.").wait_for()
    TIMINGS["open_shared_workspace_s"] = time.monotonic() - started
    _nav(ana, "Clustering")
    fit = ana.get_by_role("button", name="Cluster", exact=True)
    fit.wait_for()
    assert fit.is_disabled()
    tooltip(ana, fit, VIEW_ONLY_HELP)
    shoot(ana, "123_team_viewer_clustering")
    _nav(ana, "Features")
    assert ana.get_by_test_id("stMultiSelect").filter(
        has_text="Features used for segmentation").locator("input").is_disabled()
    with ana.expect_download() as download:
        ana.get_by_role("button", name="Download CSV").first.click()
    assert download.value.suggested_filename.endswith(".csv")
    no_bug(ana)

    # Bo revokes: Ana's next click is refused.
    _nav(bo, "Sharing")
    bo.get_by_role("button", name="Revoke").first.click()
    bo.get_by_text("Not shared with anyone yet.").wait_for()
    _nav(ana, "Home")
    _refused(ana)

    # A view-only link works for Ana until Bo revokes it.
    bo.get_by_role("button", name="Create a view-only link").click()
    link = bo.get_by_test_id("stCode").inner_text().strip()
    assert re.fullmatch(rf"http://127\.0\.0\.1:\d+/\?ws={bo_ws}&link=[\w-]+", link), link
    ana.goto(link)
    ana.get_by_text("View only.").wait_for()
    _nav(ana, "Segments")  # the link holds across pages, not only on the page it opened
    ana.get_by_text("View only.").wait_for()
    assert ana.get_by_role("heading", name=DENIED_TITLE).count() == 0
    bo.get_by_role("button", name="Revoke").first.click()
    bo.get_by_text("No links.").wait_for()
    _nav(ana, "Funnels")
    _refused(ana)

    # Signing out ends the session: the sign-in page again.
    ana.get_by_role("button", name="Sign out").click()
    # Streamlit ends the provider's session too (RP-initiated logout); the mock provider
    # asks to confirm it.
    ana.get_by_role("button", name="End session").click()
    ana.get_by_role("heading", name="Sign in to Persona Lens").wait_for()
    ana.goto(f"{url}/?ws={bo_ws}")
    ana.get_by_role("heading", name="Sign in to Persona Lens").wait_for()
    shoot(ana, "124_team_signed_out")
    print(f"\nteam mode timings: {json.dumps({k: round(v, 2) for k, v in TIMINGS.items()})}")
    (team_server["home"].parent / "team_timings.json").write_text(json.dumps(TIMINGS))
