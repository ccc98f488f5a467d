"""The SOS item.quantity_updated subscription that points at our hook URL (R-INV-6).

A subscription is "ours" when its postUri is on our API's hook route, whatever the token:
one with an older token (after a rotation) or a second one for the same URL is stale, and
`ensure_subscription` removes it, so running it any number of times leaves exactly one.

Command (a post-deploy step, see docs/architecture.md):
    python -m sos_wiz_sync.hook.subscriptions {subscribe,list,remove} --api-url <HttpApiUrl>
It reads the same environment as the functions (SOS_SECRET_ID, SOS_HOOK_SECRET_ID,
STATE_TABLE, optional SOS_API_BASE_URL / SOS_TOKEN_URL) and never prints the token.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from ..clients.sos import SosClient
from ..config import HookSubscriptionSettings, SosApiSettings
from ..models.sos import SosHook
from ..secrets import SecretStore
from ..wiring import build_sos_client
from .ingress import HookTokenSecret

HOOK_ROUTE = "/webhooks/sos"  # the template's route is POST /webhooks/sos/{token}
HOOK_EVENT = "item.quantity_updated"


def hook_url(api_url: str, token: str) -> str:
    return f"{api_url.rstrip('/')}{HOOK_ROUTE}/{token}"


def _route(url: str) -> str:
    return url.rsplit("/", 1)[0]


def list_subscriptions(sos: SosClient, url: str) -> list[SosHook]:
    """Our quantity-hook subscriptions: any token on the route of `url`."""
    return [hook for hook in sos.list_hooks() if hook.eventType == HOOK_EVENT and _route(hook.postUri) == _route(url)]


def ensure_subscription(sos: SosClient, url: str) -> SosHook:
    """Exactly one enabled subscription for `url` afterwards. The new one is created before the
    stale ones go, so a token rotation leaves no moment without a hook."""
    ours = list_subscriptions(sos, url)
    keep = next((hook for hook in ours if hook.postUri == url and hook.enabled), None) or sos.create_hook(url)
    for hook in ours:
        if hook.id != keep.id:
            sos.delete_hook(hook.id)
    return keep


def remove_subscription(sos: SosClient, url: str) -> list[SosHook]:
    """Remove every subscription of ours; returns what was removed."""
    ours = list_subscriptions(sos, url)
    for hook in ours:
        sos.delete_hook(hook.id)
    return ours


def describe(hook: SosHook, url: str) -> dict:
    """A subscription as the command prints it: the path token masked."""
    return {"id": hook.id, "eventType": hook.eventType, "postUri": f"{_route(hook.postUri)}/<token>",
            "current_token": hook.postUri == url, "enabled": hook.enabled}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sos_wiz_sync.hook.subscriptions",
                                     description="Manage the SOS item.quantity_updated subscription (R-INV-6).")
    parser.add_argument("action", choices=("subscribe", "list", "remove"))
    parser.add_argument("--api-url", required=True,
                        help="base URL of the deployed HTTP API (stack output); the token is read from the secret")
    args = parser.parse_args(argv)

    settings, secrets = HookSubscriptionSettings(), SecretStore()
    # An operator's command makes a handful of calls and may run without the deployment's
    # SosMaxRps: it paces itself and leaves the deployment's shared budget (R-CFG-4) alone.
    sos = build_sos_client(SosApiSettings(sos_shared_budget=False), state_table=settings.state_table,
                           secrets=secrets)
    url = hook_url(args.api_url, HookTokenSecret.model_validate(secrets.read(settings.sos_hook_secret_id)).token)
    if args.action == "subscribe":
        hooks = [ensure_subscription(sos, url)]
    elif args.action == "list":
        hooks = list_subscriptions(sos, url)
    else:
        hooks = remove_subscription(sos, url)
    json.dump({"action": args.action, "subscriptions": [describe(hook, url) for hook in hooks]}, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
