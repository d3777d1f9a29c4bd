"""sureapp/main: the health check, the landing redirect and the favicon."""


def test_healthz_reports_ok_when_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_the_landing_page_sends_a_visitor_to_log_in_and_a_user_to_their_workspaces(
        client, login, make_user):
    assert client.get("/").headers["Location"].endswith("/login")
    login(make_user())
    response = client.get("/")
    assert response.status_code == 302 and "/login" not in response.headers["Location"]


def test_favicon_ico_redirects_to_the_svg_icon_that_every_page_links(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response.headers["Location"] == "/static/favicon.svg"
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    assert b"<svg" in icon.data
    assert b'<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in client.get("/login").data
