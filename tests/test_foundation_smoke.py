from sureapp.models import Role


def test_healthz_reports_ok_when_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_dashboard_is_404_for_a_workspace_the_user_cannot_see(client, login, make_user, make_org):
    alice, bob = make_user(), make_user()
    _, alice_ws = make_org(alice)
    make_org(bob, name="Bob Inc")
    login(bob)
    assert client.get(f"/w/{alice_ws.id}/").status_code == 404


def test_member_sees_dashboard(client, login, workspace_with_roles):
    workspace, users = workspace_with_roles
    login(users[Role.MEMBER.slug])
    response = client.get(f"/w/{workspace.id}/")
    assert response.status_code == 200
    assert workspace.name in response.get_data(as_text=True)
