"""The policy for users vouched for by an OpenID provider or a trusted proxy, on a real database."""

from __future__ import annotations

import pytest

from jobdeck import errors, identity, model
from jobdeck.accounts import Accounts
from jobdeck.service import Service
from jobdeck.store import users as user_rows

ISSUER = "https://login.example.com"


def accounts_with(service: Service, **changes: object) -> Accounts:
    return Accounts(service.db, service.settings.model_copy(update=changes))


def claims(**extra: object) -> identity.Vouched:
    return identity.from_claims({"sub": "s-1", "email": "lee@example.com", **extra}, ISSUER, "groups")


def test_the_user_name_is_preferred_username_and_else_the_email() -> None:
    assert claims(preferred_username="lee").username == "lee"
    assert claims().username == "lee@example.com"


def test_a_groups_claim_may_be_one_string_or_a_list() -> None:
    assert claims(groups="admins").groups == ("admins",)
    assert claims(groups=["a", "b", 3]).groups == ("a", "b")


def test_the_proxy_groups_header_is_comma_separated() -> None:
    assert identity.from_proxy(" pat ", "staff, jobdeck-admins ,").groups == ("staff", "jobdeck-admins")


def test_without_an_admin_group_the_admin_flag_is_left_as_it_is(service: Service) -> None:
    accounts = accounts_with(service, oidc_admin_group="")
    user = identity.sign_in(accounts, claims(groups=["anything"]))
    assert user.is_admin is False
    with service.db.write() as conn:
        user_rows.set_profile(conn, user.id, user.display_name, True)  # made an admin some other way
    assert identity.sign_in(accounts, claims(groups=[])).is_admin is True


def test_an_unverified_email_is_refused_when_domains_are_limited(service: Service) -> None:
    accounts = accounts_with(service, oidc_allowed_domains="example.com")
    with pytest.raises(errors.NotAllowed, match=r"example\.com"):
        identity.sign_in(accounts, claims(email_verified=False))
    assert identity.sign_in(accounts, claims(email_verified=True)).username == "lee@example.com"


def test_a_domain_check_ignores_case_and_a_leading_at(service: Service) -> None:
    accounts = accounts_with(service, oidc_allowed_domains="@Example.COM")
    assert identity.sign_in(accounts, claims(email="Lee@EXAMPLE.com")).username == "Lee@EXAMPLE.com"


def test_a_user_name_jobdeck_cannot_hold_is_refused(service: Service) -> None:
    with pytest.raises(errors.NotAllowed, match="no usable user name"):
        identity.sign_in(service.accounts, claims(preferred_username="lee smith"))


def test_a_proxy_user_and_an_openid_user_never_share_an_account(service: Service, alice: model.User) -> None:
    identity.sign_in(service.accounts, claims(preferred_username="lee"))
    with pytest.raises(errors.UserExists):
        identity.sign_in(service.accounts, identity.from_proxy("lee", None))
    with pytest.raises(errors.UserExists):
        identity.sign_in(service.accounts, identity.from_proxy("alice", None))


def test_the_display_name_is_cut_to_what_the_table_holds(service: Service) -> None:
    user = identity.sign_in(service.accounts, claims(name="L" * 500))
    assert user.display_name == "L" * identity.DISPLAY_NAME_MAX
    assert service.accounts.user(user.username).display_name == "L" * identity.DISPLAY_NAME_MAX
