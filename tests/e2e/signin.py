"""Signing a demo user in through the login page, shared by the browser tests."""

from core.demo import DEMO_PASSWORD


def sign_in(page, base: str, username: str, password: str = DEMO_PASSWORD) -> None:
    """Open the login page, sign in and wait for the first page's heading."""
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_selector("h1")
