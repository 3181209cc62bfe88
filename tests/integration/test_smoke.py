from triage.vocab import Role


def test_sign_in_and_see_home(client, accounts, auth):
    auth.login_as(accounts[Role.REVIEWER])
    page = client.get("/")
    assert page.status_code == 200
    assert "Case queue" in page.get_data(as_text=True)
