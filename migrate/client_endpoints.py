"""Typed helpers, one per API endpoint, all on top of :meth:`ApiClient.call`.

GETs of users, aliases, lists and admins return ``None`` for ``NO_SUCH_ACCOUNT``: that code only
means "missing" there. A missing domain answers ``INVALID_DOMAIN_NAME``, which also means a bad
name, so :meth:`Endpoints.get_domain` raises and lets the caller decide. Writes return the
:class:`ApiResponse` (its ``attempts`` feed the result log).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from migrate.client_wire import (
    ApiResponse,
    FormData,
    FormValue,
    UnexpectedResponse,
    key_from_path,
    rejection,
    segment,
)

__all__ = ["Endpoints"]

_SCOPES = ("global", "domain", "user")
_DIRECTIONS = ("inbound", "outbound")


def _rows(data: Any, where: str) -> list[dict[str, Any]]:
    if data is None:
        return []
    if isinstance(data, list) and all(isinstance(row, dict) for row in data):
        return data
    raise UnexpectedResponse(f"{where}: expected a list of objects in _data", code="BAD_DATA")


def _mapping(data: Any, where: str) -> dict[str, Any]:
    if data is None:
        return {}
    if isinstance(data, dict):
        return data
    raise UnexpectedResponse(f"{where}: expected an object in the reply data", code="BAD_DATA")


def _address(item: Any) -> str | None:
    if isinstance(item, str):
        return item.strip().lower() or None
    if isinstance(item, dict):
        for name in ("username", "mail", "email", "address"):
            value = item.get(name)
            if isinstance(value, str) and value.strip():
                return value.strip().lower()
    return None


def _spam_path(scope: str, target: str | None) -> str:
    if scope not in _SCOPES:
        raise ValueError(f"spam policy scope must be one of {_SCOPES}, not {scope!r}")
    if scope == "global":
        return "/spampolicy/global"
    if not target:
        raise ValueError(f"a {scope} spam policy needs a target")
    return f"/spampolicy/{scope}/{segment(target)}"


def _throttle_path(target: str, direction: str) -> str:
    if direction not in _DIRECTIONS:
        raise ValueError(f"throttle direction must be one of {_DIRECTIONS}, not {direction!r}")
    return f"/throttle/{segment(target)}/{direction}"


def _keep_days(path: str, keep_mailbox_days: int | None) -> str:
    return path if keep_mailbox_days is None else f"{path}/keep_mailbox_days/{int(keep_mailbox_days)}"


class Endpoints:
    """Endpoint helpers; :class:`~migrate.client.ApiClient` supplies :meth:`call`."""

    async def call(
        self,
        method: str,
        path: str,
        *,
        data: FormData | None = None,
        params: Mapping[str, str] | None = None,
        allow_failure: bool = False,
    ) -> ApiResponse:
        """Send one API call (implemented by the client)."""
        raise NotImplementedError

    async def _get_or_none(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any] | None:
        reply = await self.call("GET", path, params=params, allow_failure=True)
        if reply.ok:
            return _mapping(reply.data, f"GET {path}")
        if reply.codes == ("NO_SUCH_ACCOUNT",):
            return None
        raise rejection(reply, f"GET {path}", key_from_path(path))

    async def _get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        return (await self.call("GET", path, params=params)).data

    # --- domains -------------------------------------------------------------------------------

    async def list_domains(self) -> dict[str, dict[str, Any]]:
        """``GET /domains``: every domain this admin may see, keyed by name."""
        data = await self._get("/domains")
        if isinstance(data, list):  # name_only-style lists, or rows carrying their name
            out: dict[str, dict[str, Any]] = {}
            for item in data:
                if isinstance(item, str):
                    out[item] = {}
                elif isinstance(item, dict) and isinstance(item.get("domain"), str):
                    out[item["domain"]] = item
            return out
        return {
            name: value if isinstance(value, dict) else {} for name, value in _mapping(data, "GET /domains").items()
        }

    async def get_domain(self, domain: str) -> dict[str, Any] | None:
        """``GET /domain/<domain>``; ``None`` only if the server succeeds with no data.

        Raises:
            RejectedByServer: ``INVALID_DOMAIN_NAME`` for a missing (or malformed) domain.
        """
        reply = await self.call("GET", f"/domain/{segment(domain)}")
        return None if reply.data is None else _mapping(reply.data, f"GET /domain/{domain}")

    async def create_domain(self, domain: str, params: FormData) -> ApiResponse:
        """``POST /domain/<domain>``."""
        return await self.call("POST", f"/domain/{segment(domain)}", data=params)

    async def update_domain(self, domain: str, params: FormData) -> ApiResponse:
        """``PUT /domain/<domain>``."""
        return await self.call("PUT", f"/domain/{segment(domain)}", data=params)

    async def delete_domain(self, domain: str, keep_mailbox_days: int | None = None) -> ApiResponse:
        """``DELETE /domain/<domain>[/keep_mailbox_days/<n>]``."""
        return await self.call("DELETE", _keep_days(f"/domain/{segment(domain)}", keep_mailbox_days))

    async def get_domain_admins(self, domain: str) -> list[str]:
        """``GET /domain/admins/<domain>``: the domain's normal admins, lower-cased."""
        data = await self._get(f"/domain/admins/{segment(domain)}")
        items = list(data) if isinstance(data, list | dict) else []
        return [addr for addr in (_address(item) for item in items) if addr]

    async def update_domain_admins(
        self, domain: str, add: Iterable[str] = (), remove: Iterable[str] = (), remove_all: bool = False
    ) -> ApiResponse:
        """``PUT /domain/admins/<domain>`` with ``addAdmin``/``removeAdmin``/``removeAllAdmins``."""
        params: dict[str, FormValue] = {}
        if remove_all:
            params["removeAllAdmins"] = ""  # presence is what counts; only this spelling works
        if added := list(add):
            params["addAdmin"] = added
        if removed := list(remove):
            params["removeAdmin"] = removed
        return await self.call("PUT", f"/domain/admins/{segment(domain)}", data=params)

    # --- standalone admins ---------------------------------------------------------------------

    async def get_admin(self, mail: str) -> dict[str, Any] | None:
        """``GET /admin/<mail>``; ``None`` when there is no such admin."""
        return await self._get_or_none(f"/admin/{segment(mail)}")

    async def create_admin(self, mail: str, params: FormData) -> ApiResponse:
        """``POST /admin/<mail>``."""
        return await self.call("POST", f"/admin/{segment(mail)}", data=params)

    async def update_admin(self, mail: str, params: FormData) -> ApiResponse:
        """``PUT /admin/<mail>``."""
        return await self.call("PUT", f"/admin/{segment(mail)}", data=params)

    async def delete_admin(self, mail: str) -> ApiResponse:
        """``DELETE /admin/<mail>``."""
        return await self.call("DELETE", f"/admin/{segment(mail)}")

    async def _verify_password(self, kind: str, mail: str, password: str) -> bool:
        path = f"/verify_password/{kind}/{segment(mail)}"
        reply = await self.call("POST", path, data={"password": password}, allow_failure=True)
        if reply.ok:
            return True
        if reply.msg is None:  # a wrong password is a bare {"_success": false}
            return False
        raise rejection(reply, f"POST {path}", mail)

    async def verify_admin_password(self, mail: str, password: str) -> bool:
        """``POST /verify_password/admin/<mail>``: whether ``password`` is the admin's."""
        return await self._verify_password("admin", mail, password)

    # --- users ---------------------------------------------------------------------------------

    async def list_users(self, domain: str) -> list[dict[str, Any]]:
        """``GET /users/<domain>``: every mailbox row of the domain."""
        return _rows(await self._get(f"/users/{segment(domain)}"), f"GET /users/{domain}")

    async def get_user(self, mail: str) -> dict[str, Any] | None:
        """``GET /user/<mail>``; ``None`` when there is no such user."""
        return await self._get_or_none(f"/user/{segment(mail)}")

    async def create_user(self, mail: str, params: FormData) -> ApiResponse:
        """``POST /user/<mail>``."""
        return await self.call("POST", f"/user/{segment(mail)}", data=params)

    async def update_user(self, mail: str, params: FormData) -> ApiResponse:
        """``PUT /user/<mail>``."""
        return await self.call("PUT", f"/user/{segment(mail)}", data=params)

    async def delete_user(self, mail: str, keep_mailbox_days: int | None = None) -> ApiResponse:
        """``DELETE /user/<mail>[/keep_mailbox_days/<n>]``."""
        return await self.call("DELETE", _keep_days(f"/user/{segment(mail)}", keep_mailbox_days))

    async def verify_user_password(self, mail: str, password: str) -> bool:
        """``POST /verify_password/user/<mail>``: whether ``password`` is the user's."""
        return await self._verify_password("user", mail, password)

    async def change_user_email(self, old: str, new: str) -> ApiResponse:
        """``POST /user/<old>/change_email/<new>`` (same domain only)."""
        return await self.call("POST", f"/user/{segment(old)}/change_email/{segment(new)}")

    async def update_users(self, domain: str, params: FormData) -> ApiResponse:
        """``PUT /users/<domain>``: change every user of the domain."""
        return await self.call("PUT", f"/users/{segment(domain)}", data=params)

    # --- aliases -------------------------------------------------------------------------------

    async def list_aliases(self, domain: str) -> list[dict[str, Any]]:
        """``GET /aliases/<domain>``: alias rows (without members)."""
        return _rows(await self._get(f"/aliases/{segment(domain)}"), f"GET /aliases/{domain}")

    async def get_alias(self, mail: str) -> dict[str, Any] | None:
        """``GET /alias/<mail>``; ``None`` when there is no such alias."""
        return await self._get_or_none(f"/alias/{segment(mail)}")

    async def create_alias(self, mail: str, params: FormData) -> ApiResponse:
        """``POST /alias/<mail>``."""
        return await self.call("POST", f"/alias/{segment(mail)}", data=params)

    async def update_alias(self, mail: str, params: FormData) -> ApiResponse:
        """``PUT /alias/<mail>``."""
        return await self.call("PUT", f"/alias/{segment(mail)}", data=params)

    async def delete_alias(self, mail: str) -> ApiResponse:
        """``DELETE /alias/<mail>``."""
        return await self.call("DELETE", f"/alias/{segment(mail)}")

    async def change_alias_email(self, old: str, new: str) -> ApiResponse:
        """``POST /alias/<old>/change_email/<new>``."""
        return await self.call("POST", f"/alias/{segment(old)}/change_email/{segment(new)}")

    # --- mlmmj lists (/ml) and LDAP classic lists (/maillist) ----------------------------------

    async def list_mls(self, domain: str) -> list[dict[str, Any]]:
        """``GET /mls/<domain>``: the domain's mlmmj lists."""
        return _rows(await self._get(f"/mls/{segment(domain)}"), f"GET /mls/{domain}")

    async def get_ml(self, mail: str, with_subscribers: bool = True) -> dict[str, Any] | None:
        """``GET /ml/<mail>``; ``None`` when there is no such list."""
        # A presence flag: any value means yes, so "no" is spelled by leaving it out (§4.4).
        params = {"with_subscribers": "yes"} if with_subscribers else None
        return await self._get_or_none(f"/ml/{segment(mail)}", params)

    async def create_ml(self, mail: str, params: FormData) -> ApiResponse:
        """``POST /ml/<mail>``."""
        return await self.call("POST", f"/ml/{segment(mail)}", data=params)

    async def update_ml(self, mail: str, params: FormData) -> ApiResponse:
        """``PUT /ml/<mail>``."""
        return await self.call("PUT", f"/ml/{segment(mail)}", data=params)

    async def delete_ml(self, mail: str, keep_archive: bool | None = None) -> ApiResponse:
        """``DELETE /ml/<mail>[?keep_archive=yes|no]``."""
        data = None if keep_archive is None else {"keep_archive": keep_archive}
        return await self.call("DELETE", f"/ml/{segment(mail)}", data=data)

    async def get_maillist(self, mail: str) -> dict[str, Any] | None:
        """``GET /maillist/<mail>`` (LDAP edition); ``None`` when there is no such list."""
        return await self._get_or_none(f"/maillist/{segment(mail)}")

    async def create_maillist(self, mail: str, params: FormData) -> ApiResponse:
        """``POST /maillist/<mail>`` (LDAP edition)."""
        return await self.call("POST", f"/maillist/{segment(mail)}", data=params)

    async def update_maillist(self, mail: str, params: FormData) -> ApiResponse:
        """``PUT /maillist/<mail>`` (LDAP edition)."""
        return await self.call("PUT", f"/maillist/{segment(mail)}", data=params)

    async def delete_maillist(self, mail: str, archive: bool | None = None) -> ApiResponse:
        """``DELETE /maillist/<mail>[?archive=yes|no]`` (LDAP edition)."""
        data = None if archive is None else {"archive": archive}
        return await self.call("DELETE", f"/maillist/{segment(mail)}", data=data)

    # --- spam policies and throttles -----------------------------------------------------------

    async def get_spampolicy(self, scope: str, target: str | None) -> dict[str, Any]:
        """``GET /spampolicy/{global,domain/<d>,user/<m>}``."""
        path = _spam_path(scope, target)
        return _mapping(await self._get(path), f"GET {path}")

    async def put_spampolicy(self, scope: str, target: str | None, params: FormData) -> ApiResponse:
        """``PUT /spampolicy/...``."""
        return await self.call("PUT", _spam_path(scope, target), data=params)

    async def delete_spampolicy(self, scope: str, target: str | None) -> ApiResponse:
        """``DELETE /spampolicy/...``."""
        return await self.call("DELETE", _spam_path(scope, target))

    async def get_throttle(self, target: str, direction: str) -> dict[str, Any]:
        """``GET /throttle/<global|domain|mail>/<inbound|outbound>`` (the reply's ``setting``)."""
        path = _throttle_path(target, direction)
        return _mapping(await self._get(path), f"GET {path}")

    async def set_throttle(self, target: str, direction: str, params: FormData) -> ApiResponse:
        """``POST /throttle/<global|domain|mail>/<inbound|outbound>``."""
        return await self.call("POST", _throttle_path(target, direction), data=params)
