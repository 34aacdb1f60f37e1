"""mlmmj list parameters both editions read the same way (reference §6.8).

What mlmmj keeps on disk (list settings, subscribers) lives in one store for both editions, so
the parsing of those parameters and the subscriber changes are shared outright.
"""

from __future__ import annotations

from typing import Any

from migrate.sandbox.context import Ctx
from migrate.sandbox.rules import comma_addresses, yes

__all__ = ["FLAGS", "control_changes", "keep_archive", "subscribe", "update_subscribers"]

#: yes/no list settings and their documented defaults.
FLAGS: dict[str, bool] = {
    "close_list": False, "only_moderator_can_post": False, "only_subscriber_can_post": True,
    "moderated": False, "moderate_non_subscriber_post": False, "disable_subscription": False,
    "disable_subscription_confirm": False, "disable_digest_subscription": False, "disable_digest_text": False,
    "disable_nomail_subscription": False, "moderate_subscription": False,
    "disable_retrieving_old_posts": False, "only_subscriber_can_get_old_posts": True,
    "disable_retrieving_subscribers": True, "disable_archive": False, "disable_send_copy_to_sender": True,
    "notify_owner_when_sub_unsub": False, "notify_sender_when_moderated": False,
}  # fmt: skip
_LISTS = ("extra_addresses", "remove_headers", "subscription_moderators")
_TEXTS = ("subject_prefix", "custom_headers", "footer_text", "footer_html")
_SUBSCRIPTIONS = ("normal", "digest", "nomail")


def control_changes(ctx: Ctx) -> dict[str, Any]:
    """The mlmmj settings a POST/PUT gives (flags as ``yes``/``no``, lists, texts)."""
    changes: dict[str, Any] = {}
    for name in FLAGS:
        if ctx.has(name):
            changes[name] = "yes" if yes(ctx.get(name)) else "no"
    for name in _LISTS:
        if ctx.has(name):
            if name == "remove_headers":
                changes[name] = [h.strip() for h in (ctx.get(name) or "").split(",") if h.strip()]
            else:
                changes[name] = comma_addresses(ctx.get(name))
    for name in _TEXTS:
        if ctx.has(name):
            changes[name] = ctx.get(name) or ""
    if changes.get("subscription_moderators"):
        changes["moderate_subscription"] = "yes"
    return changes


def subscribe(ctx: Ctx, mail: str, param: str) -> None:
    """Subscribe the addresses of ``param`` (not the list itself), honouring ``require_confirm``."""
    people = [p for p in comma_addresses(ctx.get(param)) if p != mail]
    if not people:
        return
    confirm = yes(ctx.get("require_confirm")) if ctx.has("require_confirm") else True
    subscription = (ctx.get("subscription") or "normal").strip().lower()
    if subscription not in _SUBSCRIPTIONS:
        subscription = "normal"
    ctx.state.subscribers.add(mail, people, subscription, confirmed=not confirm)


def update_subscribers(ctx: Ctx, mail: str, control: dict[str, Any]) -> None:
    """What a PUT changes in mlmmj: settings, ``remove_subscribers``, then ``add_subscribers``."""
    if control:
        ctx.state.subscribers.set_control(mail, control)
    if ctx.has("remove_subscribers"):
        ctx.state.subscribers.remove(mail, comma_addresses(ctx.get("remove_subscribers")))
    subscribe(ctx, mail, "add_subscribers")


def keep_archive(ctx: Ctx) -> bool:
    """Whether a deleted list's archive stays (anything but ``keep_archive=no``)."""
    return (ctx.get("keep_archive") or "yes").strip().lower() != "no"
