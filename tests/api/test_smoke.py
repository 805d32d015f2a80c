def test_root_names_the_service(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.json["service"] == "mira"
    assert response.json["api"] == ["/api/v1", "/api/v2"]


def test_registered_user_sees_their_default_network(client, alice):
    me = client.get("/api/v1/auth/me", headers=alice.headers).json
    assert me["email"] == "alice@example.com"
    assert [n["id"] for n in me["networks"]] == [alice.network_id]
    assert me["networks"][0]["role"] == "owner"
