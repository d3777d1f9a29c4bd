"""sureapp/main: the health check and the landing redirect."""


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
