"""Sign-in in team mode: Streamlit's OpenID Connect login (``st.login``), configured in
``.streamlit/secrets.toml`` for any OIDC provider (see the README and SECURITY.md).

In local mode nobody signs in and :func:`identity` is None.
"""

from __future__ import annotations

import streamlit as st

from core.common.errors import PersonaLensError
from core.workspace.access import normalise_identity
from core.workspace.deployment import Deployment, deployment
from ui.text import inert

SIGN_IN_TITLE = "Sign in to Persona Lens"


def current_deployment() -> Deployment:
    """This server's deployment; a wrong setting stops the page with what to fix."""
    try:
        return deployment()
    except PersonaLensError as exc:
        st.error(f"{inert(exc)} Fix the setting and restart the server.",
                 icon=":material/error:")
        st.stop()
        raise  # unreachable: st.stop() raises


def identity() -> str | None:
    """The signed-in analyst (their e-mail, else their subject), or None."""
    if not current_deployment().team or not st.user.is_logged_in:
        return None
    email = st.user.get("email")
    # An address the provider says it has not verified could be anyone's.
    if email and st.user.get("email_verified") is False:
        email = None
    claim = email or st.user.get("sub")
    try:
        return normalise_identity(str(claim or ""))
    except PersonaLensError:
        return None


def _auth_configured() -> bool:
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, KeyError, PersonaLensError):
        return False
    except Exception:  # Streamlit raises its own error when no secrets file exists
        return False


def require_sign_in() -> None:
    """In team mode, stop the page until the visitor has signed in."""
    if not current_deployment().team:
        return
    if not _auth_configured():
        st.error("Team mode needs sign-in configured: add an `[auth]` section for your "
                 "OpenID Connect provider to `.streamlit/secrets.toml` (see the README, "
                 "*Team mode*), then restart the server.", icon=":material/lock:")
        st.stop()
    if st.user.is_logged_in and identity() is None:
        st.error("Your sign-in did not give an e-mail address or subject that Persona Lens "
                 "can use; ask your administrator to include the `email` claim.",
                 icon=":material/lock:")
        st.button("Sign out", on_click=st.logout, key="auth.sign_out_bad")
        st.stop()
    if not st.user.is_logged_in:
        _sign_in_page()
        st.stop()


def _sign_in_page() -> None:
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        st.title(SIGN_IN_TITLE)
        st.write("This server is shared by a team. Sign in with your organisation's "
                 "account to open your workspaces and those shared with you.")
        st.button("Sign in", type="primary", icon=":material/login:", on_click=st.login,
                  key="auth.sign_in")


def account_in_sidebar() -> None:
    """Who is signed in, and a sign-out button (team mode only)."""
    who = identity()
    if who is None:
        return
    with st.sidebar:
        st.caption(f"Signed in as **{inert(who)}**")
        st.button("Sign out", on_click=st.logout, key="auth.sign_out",
                  icon=":material/logout:")
