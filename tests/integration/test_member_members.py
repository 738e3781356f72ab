"""Members (M-1) and search scoping (O-7) through the HTTP API."""

import pytest

from tests.helpers import error, ok, raw_rows
from tests.member_helpers import enrol, enrol_with_card, member_world, outbox, random_phone

pytestmark = pytest.mark.integration

ID_NUMBER = "11010519491231002X"


@pytest.fixture(scope="module")
def mw(admin):
    return member_world(admin)


def test_cashier_enrols_at_their_store_with_personal_data_encrypted(mw, settings):
    phone = random_phone()
    member = enrol(
        mw.cashier_a,
        mw,
        phone=f"{phone[:3]} {phone[3:7]} {phone[7:]}",
        id_number=ID_NUMBER,
        plates=["沪a 12345", "沪A12345", "苏E-88888"],
        tags=["vip-lead"],
        marketing_consent=True,
    )
    assert member["home_store_id"] == mw.store("A")
    assert member["phone"] == phone and member["masked"] is False
    assert member["id_number"] == ID_NUMBER
    assert member["plates"] == ["沪A12345", "苏E88888"]
    assert len(member["member_no"]) == 8
    rows = raw_rows(settings, "SELECT * FROM member.members WHERE id = :id", id=member["id"])
    assert len(rows) == 1
    dump = " ".join(str(v) for v in rows[0].values())
    assert phone not in dump and ID_NUMBER not in dump and ID_NUMBER.lower() not in dump
    assert phone[3:] not in dump  # not even the tail of the number
    # every table of the member schema (members, the stored answers to retried
    # requests, the outbox, the operation log ...): a dump holds neither number
    tables = raw_rows(settings, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'member'")
    assert {"members", "idempotency_keys", "outbox"} <= {t["table_name"] for t in tables}
    for table in tables:
        every = raw_rows(settings, f"SELECT t::text AS row FROM member.{table['table_name']} t")
        assert not any(phone in r["row"] or ID_NUMBER in r["row"] for r in every), table
    # and the event says only the masked phone
    enrolled = [e for e in outbox(settings, mw.id, "enrolled") if e["data"]["member_id"] == member["id"]]
    assert enrolled[0]["data"]["masked_phone"] == f"{phone[:3]}****{phone[-4:]}"
    assert phone not in str(enrolled[0])


def test_bad_input_is_refused_with_the_field_named(mw):
    err = error(mw.cashier_a.post(mw.path("/members"), {"name": "Li", "phone": "1381234567"}), 422)
    assert err["fields"] == {"phone": ["A mobile number has 11 digits, this has 10."]}
    bad_id = {"name": "Li", "phone": random_phone(), "id_number": "110105194912310021"}
    err = error(mw.cashier_a.post(mw.path("/members"), bad_id), 422)
    assert err["fields"] == {"id_number": ["The last character does not match; check the number."]}
    err = error(mw.cashier_a.post(mw.path("/members"), {"name": "Li", "phone": random_phone(), "gender": "x"}), 422)
    assert "gender" in err["fields"]
    err = error(mw.cashier_a.post(mw.path("/members"), {"name": "Li", "phone": random_phone(), "extra": 1}), 422)
    assert "extra" in err["fields"]
    err = error(mw.hq.post(mw.path("/members"), {"name": "Li", "phone": random_phone()}), 422)
    assert err["fields"] == {"home_store_id": ["Required for HQ."]}
    err = error(
        mw.cashier_a.post(mw.path("/members"), {"name": "Li", "phone": random_phone(), "home_store_id": mw.store("B")}),
        422,
    )
    assert err["fields"] == {"home_store_id": ["Not one of your stores."]}
    err = error(
        mw.cashier_a.post(
            mw.path("/members"),
            {"name": "Li", "phone": random_phone(), "referrer_id": "00000000-0000-0000-0000-000000000000"},
        ),
        422,
    )
    assert err["fields"] == {"referrer_id": ["No such member in this chain."]}


def test_phone_is_unique_per_chain_in_any_form(mw, admin):
    phone = random_phone()
    enrol(mw.cashier_a, mw, phone=phone)
    err = error(mw.cashier_b.post(mw.path("/members"), {"name": "Wang", "phone": f"+86 {phone}"}), 409)
    assert err["code"] == "already_exists" and "phone" in err["fields"]
    # another chain may enrol the same person
    other = member_world(admin)
    enrol(other.cashier_a, other, phone=phone)


def test_enrolment_is_idempotent(mw):
    body = {"name": "Retry", "phone": random_phone()}
    first = ok(mw.cashier_a.post(mw.path("/members"), body, key="enrol-retry-1"), 201)
    again = ok(mw.cashier_a.post(mw.path("/members"), body, key="enrol-retry-1"), 201)
    assert again["id"] == first["id"]
    err = error(mw.cashier_a.post(mw.path("/members"), {**body, "name": "Other"}, key="enrol-retry-1"), 409)
    assert err["code"] == "idempotency_mismatch"
    error(mw.cashier_a.post(mw.path("/members"), body, key=None), 400)


def test_done_when_cashier_b_finds_a_store_a_member_by_card_masked_but_cannot_list_them(mw):
    phone = random_phone()
    member, card = enrol_with_card(mw.cashier_a, mw, phone=phone, id_number=ID_NUMBER, notes="likes wax")
    found = ok(mw.cashier_b.get(mw.path("/members"), {"card_no": card["card_no"]}))["items"]
    assert [m["id"] for m in found] == [member["id"]]
    assert found[0]["phone"] == f"{phone[:3]}****{phone[-4:]}" and found[0]["masked"] is True
    assert found[0]["id_number"] == "110***********002X"
    assert found[0]["birthday"] is None and found[0]["notes"] == ""
    assert found[0]["cards"][0]["card_no"] == card["card_no"]
    # exact phone works chain-wide too, masked
    by_phone = ok(mw.cashier_b.get(mw.path("/members"), {"phone": phone}))["items"]
    assert [m["id"] for m in by_phone] == [member["id"]] and by_phone[0]["masked"] is True
    # but store B cannot list, browse or open store A's members
    listed = ok(mw.cashier_b.get(mw.path("/members")))["items"]
    assert member["id"] not in [m["id"] for m in listed]
    assert all(m["home_store_id"] == mw.store("B") for m in listed)
    assert ok(mw.cashier_b.get(mw.path("/members"), {"name": "张三"}))["items"] == []
    error(mw.cashier_b.get(mw.path(f"/members/{member['id']}")), 404)
    error(mw.cashier_b.get(mw.path("/members"), {"store_id": mw.store("A")}), 404)
    error(mw.cashier_b.patch(mw.path(f"/members/{member['id']}"), {"notes": "x"}), 404)
    # HQ lists them, unmasked; store A's own staff see them in full
    hq_listed = ok(mw.hq.get(mw.path("/members"), {"store_id": mw.store("A"), "limit": 200}))["items"]
    mine = next(m for m in hq_listed if m["id"] == member["id"])
    assert mine["phone"] == phone and mine["masked"] is False
    shown = ok(mw.manager_a.get(mw.path(f"/members/{member['id']}")))
    assert shown["phone"] == phone and shown["notes"] == "likes wax"


def test_search_by_plate_member_number_name_prefix_and_tag_with_cursor(mw):
    prefix = f"Pg{random_phone()[-6:]}"
    made = [
        enrol(mw.cashier_a, mw, name=f"{prefix} {i}", plates=[f"粤B{prefix[-5:]}{i}"], tags=["fleet"]) for i in range(3)
    ]
    page1 = ok(mw.cashier_a.get(mw.path("/members"), {"name": prefix, "limit": 2}))
    assert [m["name"] for m in page1["items"]] == [f"{prefix} 0", f"{prefix} 1"]
    page2 = ok(mw.cashier_a.get(mw.path("/members"), {"name": prefix, "limit": 2, "after": page1["next_cursor"]}))
    assert [m["name"] for m in page2["items"]] == [f"{prefix} 2"] and page2["next_cursor"] is None
    by_plate = ok(mw.cashier_a.get(mw.path("/members"), {"plate": f"粤b {prefix[-5:]}1"}))["items"]
    assert [m["id"] for m in by_plate] == [made[1]["id"]]
    by_no = ok(mw.cashier_a.get(mw.path("/members"), {"member_no": made[2]["member_no"]}))["items"]
    assert [m["id"] for m in by_no] == [made[2]["id"]]
    tagged = ok(mw.cashier_a.get(mw.path("/members"), {"tag": "fleet", "limit": 200}))["items"]
    assert {m["id"] for m in made} <= {m["id"] for m in tagged}
    # the name prefix is a prefix, with LIKE wildcards taken literally
    assert ok(mw.cashier_a.get(mw.path("/members"), {"name": "%"}))["items"] == []
    error(mw.cashier_a.get(mw.path("/members"), {"after": "not-a-cursor"}), 422)
    error(mw.cashier_a.get(mw.path("/members"), {"phone": "12"}), 422)


def test_edit_member_phone_plates_referrer_and_home_store(mw, settings):
    referrer = enrol(mw.cashier_a, mw)
    member = enrol(mw.cashier_a, mw, plates=["沪A11111"])
    new_phone = random_phone()
    changed = ok(
        mw.cashier_a.patch(
            mw.path(f"/members/{member['id']}"),
            {"phone": new_phone, "plates": ["沪A22222"], "referrer_id": referrer["id"], "birthday": "1990-05-01"},
        )
    )
    assert changed["phone"] == new_phone and changed["plates"] == ["沪A22222"]
    assert changed["referrer_id"] == referrer["id"] and changed["birthday"] == "1990-05-01"
    assert ok(mw.cashier_a.get(mw.path("/members"), {"phone": new_phone}))["items"][0]["id"] == member["id"]
    assert ok(mw.cashier_a.get(mw.path("/members"), {"phone": member["phone"]}))["items"] == []
    err = error(mw.cashier_a.patch(mw.path(f"/members/{member['id']}"), {"phone": referrer["phone"]}), 409)
    assert "phone" in err["fields"]
    err = error(mw.cashier_a.patch(mw.path(f"/members/{member['id']}"), {"referrer_id": member["id"]}), 422)
    assert err["fields"] == {"referrer_id": ["A member cannot refer themselves."]}
    error(mw.cashier_a.patch(mw.path(f"/members/{member['id']}"), {"home_store_id": mw.store("B")}), 403)
    moved = ok(mw.hq.patch(mw.path(f"/members/{member['id']}"), {"home_store_id": mw.store("B")}))
    assert moved["home_store_id"] == mw.store("B")
    error(mw.cashier_a.get(mw.path(f"/members/{member['id']}")), 404)
    assert ok(mw.cashier_b.get(mw.path(f"/members/{member['id']}")))["phone"] == new_phone
    updates = [e["data"] for e in outbox(settings, mw.id, "updated") if e["data"]["member_id"] == member["id"]]
    assert "phone" in updates[0]["changed"] and "plates" in updates[0]["changed"]
    assert updates[-1]["home_store_id"] == mw.store("B")


def test_other_chains_see_nothing(mw, admin):
    member, card = enrol_with_card(mw.cashier_a, mw)
    other = member_world(admin)
    error(other.hq.get(mw.path("/members"), {"card_no": card["card_no"]}), 404)
    error(other.hq.get(mw.path(f"/members/{member['id']}")), 404)
    assert ok(other.hq.get(other.path("/members"), {"card_no": card["card_no"]}))["items"] == []


def test_an_email_address_is_sealed_masked_outside_the_home_store_and_given_in_clear_only_to_send_by(
    mw, settings, rpc_pool
):
    address = f"wang.{random_phone()[-6:]}@Example.COM"
    kept = address.split("@")[0] + "@example.com"  # the domain is case-blind: kept in lower case
    member, card = enrol_with_card(mw.cashier_a, mw, email=address)
    assert member["email"] == kept
    rows = raw_rows(settings, "SELECT t::text AS row FROM member.members t WHERE id = :id", id=member["id"])
    local = kept.split("@")[0]
    assert local not in rows[0]["row"] and "example.com" not in rows[0]["row"]
    # like the phone: in full for the home store and HQ, masked for another store's cashier
    assert ok(mw.hq.get(mw.path(f"/members/{member['id']}")))["email"] == kept
    found = ok(mw.cashier_b.get(mw.path("/members"), {"card_no": card["card_no"]}))["items"][0]
    assert found["email"] == "w***@example.com" and found["masked"] is True
    # events never carry it; the change is named
    changed = ok(mw.cashier_a.patch(mw.path(f"/members/{member['id']}"), {"email": "li@example.org"}))
    assert changed["email"] == "li@example.org"
    updates = [e for e in outbox(settings, mw.id, "updated") if e["data"]["member_id"] == member["id"]]
    assert updates[-1]["data"]["changed"] == ["email"]
    assert all("example" not in str(e) for e in outbox(settings, mw.id) if e["data"].get("member_id") == member["id"])
    # the notification service's RPC: the address in clear, to send by, and its masked form
    contact = rpc_pool.call("member", "contacts", mw.id, [member["id"]])[0]
    assert (contact["email"], contact["masked_email"]) == ("li@example.org", "l***@example.org")
    # null removes it
    assert ok(mw.cashier_a.patch(mw.path(f"/members/{member['id']}"), {"email": None}))["email"] is None
    assert rpc_pool.call("member", "contacts", mw.id, [member["id"]])[0]["email"] is None
    assert raw_rows(settings, "SELECT email_cipher FROM member.members WHERE id = :id", id=member["id"]) == [
        {"email_cipher": None}
    ]


@pytest.mark.parametrize("bad", ["no-at-sign", "two@@example.com", "a b@example.com", "x@nodot", "", "a@b.c\n"])
def test_a_bad_email_address_is_refused_naming_it_and_changes_nothing(mw, bad):
    refused = error(mw.cashier_a.post(mw.path("/members"), {"name": "Li", "phone": random_phone(), "email": bad}), 422)
    assert refused["fields"] == {"email": ["An e-mail address."]}
    member = enrol(mw.cashier_a, mw, email="keep@example.com")
    refused = error(mw.cashier_a.patch(mw.path(f"/members/{member['id']}"), {"email": bad}), 422)
    assert refused["fields"] == {"email": ["An e-mail address."]}
    assert ok(mw.cashier_a.get(mw.path(f"/members/{member['id']}")))["email"] == "keep@example.com"


def test_last_four_digits_of_a_phone_find_only_the_stores_own_members(admin):
    """O-7: the last four digits name many members, so staff find only their stores' members
    by them (HQ the whole chain), never another chain's; anything but four digits is a 422."""
    mw = member_world(admin)  # a chain of its own: the shared one's members may end in the same digits
    last4 = random_phone()[-4:]
    at_a = enrol(mw.cashier_a, mw, phone=random_phone()[:7] + last4)
    also_a = enrol(mw.manager_a, mw, phone=random_phone()[:7] + last4)
    at_b = enrol(mw.cashier_b, mw, phone=random_phone()[:7] + last4)
    other_digits = enrol(mw.cashier_a, mw, phone=random_phone()[:7] + f"{(int(last4) + 1) % 10000:04d}")
    other = member_world(admin)
    elsewhere = enrol(other.cashier_a, other, phone=at_a["phone"])

    def found(api, world=mw, digits=last4):
        return {m["id"] for m in ok(api.get(world.path("/members"), {"phone_last4": digits, "limit": 200}))["items"]}

    assert found(mw.cashier_a) == {at_a["id"], also_a["id"]}
    assert found(mw.cashier_b) == {at_b["id"]}
    assert found(mw.hq) == {at_a["id"], also_a["id"], at_b["id"]}
    assert other_digits["id"] not in found(mw.hq)
    # the other chain's member with the very same phone is theirs alone
    assert found(other.cashier_a, other) == {elsewhere["id"]}
    assert elsewhere["id"] not in found(mw.hq)
    error(other.hq.get(mw.path("/members"), {"phone_last4": last4}), 404)
    # a changed phone is found by its new last four, no longer by the old
    moved = ok(mw.cashier_a.patch(mw.path(f"/members/{also_a['id']}"), {"phone": random_phone()[:7] + "0000"}))
    assert also_a["id"] not in found(mw.cashier_a) and moved["id"] in found(mw.cashier_a, digits="0000")
    # only exactly four digits
    for bad in ("567", "56789", "12a4", "１２３"):
        err = error(mw.cashier_a.get(mw.path("/members"), {"phone_last4": bad}), 422)
        assert err["fields"] == {"phone_last4": ["Exactly the last four digits of a phone."]}, bad


def test_last_four_digits_are_stored_only_as_a_keyed_index(mw, settings):
    from services.kit.crypto import codec as make_codec

    phone = random_phone()
    member = enrol(mw.cashier_a, mw, phone=phone)
    (row,) = raw_rows(settings, "SELECT phone_last4_index FROM member.members WHERE id = :id", id=member["id"])
    codec = make_codec(settings.pii_key, settings.pii_index_key)
    assert row["phone_last4_index"] == codec.index(mw.id, "phone_last4", phone[-4:])
    assert phone[-4:] not in row["phone_last4_index"]
