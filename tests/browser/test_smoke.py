"""The browser infrastructure itself: the live server runs with CSRF on and a user can log in."""


def test_login_through_the_real_form_lands_in_the_workspace(page, browser_login, make_user, make_org):
    user = make_user(email="smoke@example.com")
    _, workspace = make_org(user, workspace_name="Smoke Space")
    browser_login(page, "smoke@example.com")
    assert "Smoke Space" in page.locator("main").inner_text()


def test_a_post_without_csrf_token_is_rejected(page, live_server):
    response = page.request.post(f"{live_server.url}/login", form={"email": "x@example.com",
                                                                  "password": "whatever"})
    assert response.status == 400
