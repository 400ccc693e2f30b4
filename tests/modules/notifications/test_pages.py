"""Changing a deal's owner in place on its page tells the new owner, linking to the deal."""

from __future__ import annotations

from saas.modules.notifications.services import list_for
from saas.modules.sfa.deals import deals
from tests.conftest import PASSWORD, csrf_token_from, login


def test_giving_a_deal_to_a_colleague_in_place_notifies_them(client, team):
    with team.acting(team.owner) as session:
        deal = deals.create(session, {"name": "Fleet renewal", "owner_user_id": team.id_of(team.owner)})
    login(client, team.owner, PASSWORD)
    url = f"/t/{team.tenant.slug}/deals/{deal.id}"
    page = client.get(url).text
    assert 'data-property="owner_user_id"' in page
    saved = client.post(
        f"{url}/property",
        json={"name": "owner_user_id", "value": str(team.id_of(team.ann))},
        headers={"X-CSRFToken": csrf_token_from(page)},
    )
    assert saved.status_code == 200, saved.get_json()
    assert team.ann in saved.get_json()["shown"]
    with team.acting(None) as session:
        [row] = list_for(session, team.id_of(team.ann)).data
        assert (row.kind, row.record_type, row.record_id) == ("assigned", "deals", deal.id)
        assert list_for(session, team.id_of(team.owner)).data == []
