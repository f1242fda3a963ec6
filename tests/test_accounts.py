"""Accounts: the users a host application signs in (adopt), mapped onto jobdeck's users table in one place."""

from __future__ import annotations

import pytest

from jobdeck import errors
from jobdeck.service import Service


def test_a_host_user_is_created_on_first_sight_with_a_password_nobody_knows(service: Service) -> None:
    user = service.accounts.adopt("grace", display_name="Grace Hopper", is_admin=True)
    assert (user.username, user.display_name, user.is_admin, user.disabled) == ("grace", "Grace Hopper", True, False)
    assert service.accounts.user("grace") == user
    with pytest.raises(errors.BadCredentials):
        service.accounts.authenticate("grace", "")


def test_a_host_user_seen_again_keeps_its_row_and_takes_the_hosts_name_and_admin_flag(service: Service) -> None:
    first = service.accounts.adopt("grace", display_name="Grace", is_admin=True)
    again = service.accounts.adopt("grace", display_name="Grace Hopper", is_admin=False)
    assert again.id == first.id
    assert (again.display_name, again.is_admin) == ("Grace Hopper", False)
    assert len([u for u in service.accounts.users() if u.username == "grace"]) == 1


def test_a_host_user_disabled_in_jobdeck_stays_disabled(service: Service) -> None:
    service.accounts.adopt("grace")
    service.accounts.set_disabled("grace", True)
    assert service.accounts.adopt("grace", display_name="Grace Hopper").disabled


def test_a_host_user_name_jobdeck_cannot_store_is_refused(service: Service) -> None:
    with pytest.raises(errors.InvalidParams):
        service.accounts.adopt("grace hopper")
