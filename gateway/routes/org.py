"""HTTP operations of the `org` service."""

from __future__ import annotations

from contracts import org as c
from contracts.auth import (
    FRANCHISEE,
    HQ,
    HQ_ADMIN,
    MANAGERS,
    PLATFORM_ADMIN,
    PrincipalSchema,
)
from contracts.base import page_of
from gateway.operations import ACTOR, BODY, IP, KEY, QUERY, TOKEN, USER_AGENT, Call, Literal, Operation, forward

CHAIN = "/chains/{chain_id}"


# ---- sign-in ----------------------------------------------------------------------


sign_in = forward("org.sign_in", BODY, IP, USER_AGENT)


sign_out = forward("org.sign_out", TOKEN, IP, USER_AGENT)


def me(call: Call) -> dict:
    return call.who


change_password = forward("org.change_password", ACTOR, TOKEN, BODY, IP, USER_AGENT)


# ---- chains -------------------------------------------------------------------------


create_chain = forward("org.create_chain", ACTOR, BODY, KEY)


list_chains = forward("org.list_chains", ACTOR, QUERY)


get_chain = forward("org.get_chain", ACTOR, "chain_id")


update_chain = forward("org.update_chain", ACTOR, "chain_id", BODY)


get_settings = forward("org.get_chain", ACTOR, "chain_id", name="get_settings", pick="settings")


update_settings = forward("org.update_settings", ACTOR, "chain_id", BODY)


# ---- stores ---------------------------------------------------------------------------


create_store = forward("org.create_store", ACTOR, "chain_id", BODY, KEY)


list_stores = forward("org.list_stores", ACTOR, "chain_id", QUERY)


get_store = forward("org.get_store", ACTOR, "chain_id", "store_id")


update_store = forward("org.update_store", ACTOR, "chain_id", "store_id", BODY)


decide_store = forward("org.decide_store", ACTOR, "chain_id", "store_id", BODY, KEY)


# ---- staff ------------------------------------------------------------------------------


create_staff = forward("org.create_staff", ACTOR, "chain_id", BODY, KEY)


list_staff = forward("org.list_staff", ACTOR, "chain_id", QUERY)


get_staff = forward("org.get_staff", ACTOR, "chain_id", "staff_id")


update_staff = forward("org.update_staff", ACTOR, "chain_id", "staff_id", BODY)


disable_staff = forward(
    "org.set_staff_status", ACTOR, "chain_id", "staff_id", Literal("disabled"), KEY, name="disable_staff"
)


enable_staff = forward(
    "org.set_staff_status", ACTOR, "chain_id", "staff_id", Literal("active"), KEY, name="enable_staff"
)


unlock_staff = forward("org.unlock_staff", ACTOR, "chain_id", "staff_id", KEY)


reset_staff_password = forward("org.reset_staff_password", ACTOR, "chain_id", "staff_id", BODY, KEY)


list_access_log = forward("org.list_access_log", ACTOR, "chain_id", QUERY)


# ---- dictionaries ---------------------------------------------------------------------------


def dictionary_operations(name: str, title: str) -> list[Operation]:
    create_contract, update_contract = c.DICTIONARY_CONTRACTS[name]
    view = c.DICTIONARY_VIEWS[name]
    path = f"{CHAIN}/{name.replace('_', '-')}"

    listing = forward("org.list_dictionary", ACTOR, "chain_id", Literal(name), QUERY, name=f"list_{name}")
    create = forward("org.create_dictionary_entry", ACTOR, "chain_id", Literal(name), BODY, KEY, name=f"create_{name}")
    update = forward(
        "org.update_dictionary_entry", ACTOR, "chain_id", Literal(name), "entry_id", BODY, name=f"update_{name}"
    )
    return [
        Operation(
            "GET", path, f"List {title}", "dictionaries", listing, query=c.DictionaryQuery, response=page_of(view)
        ),
        Operation(
            "POST",
            path,
            f"Add to {title} (HQ)",
            "dictionaries",
            create,
            body=create_contract,
            response=view,
            status=201,
            roles=HQ,
            needs_key=True,
        ),
        Operation(
            "PATCH",
            f"{path}/{{entry_id}}",
            f"Change or retire one of {title} (HQ)",
            "dictionaries",
            update,
            body=update_contract,
            response=view,
            roles=HQ,
        ),
    ]


OPERATIONS: list[Operation] = [
    Operation(
        "POST",
        "/auth/sign-in",
        "Sign in with username and password",
        "auth",
        sign_in,
        body=c.SignInRequest,
        response=c.SignInResponse,
        public=True,
        description="Five wrong passwords in a row lock the account for 15 minutes.",
        refusals=(401, 403),
    ),
    Operation("POST", "/auth/sign-out", "Revoke this token", "auth", sign_out, status=204, revokes="token"),
    Operation("GET", "/auth/me", "Who am I", "auth", me, response=PrincipalSchema),
    Operation(
        "POST",
        "/auth/password",
        "Change my password (signs out my other devices)",
        "auth",
        change_password,
        body=c.ChangePasswordRequest,
        status=204,
        revokes="own_sessions",
    ),
    Operation(
        "POST",
        "/chains",
        "Create a chain (platform admin)",
        "chains",
        create_chain,
        body=c.ChainCreate,
        response=c.Chain,
        status=201,
        roles=(PLATFORM_ADMIN,),
        needs_key=True,
    ),
    Operation("GET", "/chains", "List chains", "chains", list_chains, query=c.ChainQuery, response=page_of(c.Chain)),
    Operation("GET", CHAIN, "Show a chain", "chains", get_chain, response=c.Chain),
    Operation(
        "PATCH",
        CHAIN,
        "Change a chain (HQ; status: platform admin)",
        "chains",
        update_chain,
        body=c.ChainUpdate,
        response=c.Chain,
        roles=HQ,
        revokes="chain",
    ),
    Operation("GET", f"{CHAIN}/settings", "Chain settings", "chains", get_settings, response=c.ChainSettings),
    Operation(
        "PATCH",
        f"{CHAIN}/settings",
        "Change chain settings (HQ)",
        "chains",
        update_settings,
        body=c.ChainSettings,
        response=c.ChainSettings,
        roles=HQ,
    ),
    Operation(
        "POST",
        f"{CHAIN}/stores",
        "Open a store (HQ, or a franchisee for their own)",
        "stores",
        create_store,
        body=c.StoreCreate,
        response=c.Store,
        status=201,
        roles=(PLATFORM_ADMIN, HQ_ADMIN, FRANCHISEE),
        needs_key=True,
    ),
    Operation(
        "GET",
        f"{CHAIN}/stores",
        "List the stores in my scope",
        "stores",
        list_stores,
        query=c.StoreQuery,
        response=page_of(c.Store),
    ),
    Operation("GET", f"{CHAIN}/stores/{{store_id}}", "Show a store", "stores", get_store, response=c.Store),
    Operation(
        "PATCH",
        f"{CHAIN}/stores/{{store_id}}",
        "Change a store",
        "stores",
        update_store,
        body=c.StoreUpdate,
        response=c.Store,
        roles=(PLATFORM_ADMIN, HQ_ADMIN, FRANCHISEE),
    ),
    Operation(
        "POST",
        f"{CHAIN}/stores/{{store_id}}/decision",
        "Approve or reject a franchisee's store (HQ)",
        "stores",
        decide_store,
        body=c.StoreDecision,
        response=c.Store,
        roles=HQ,
        needs_key=True,
    ),
    Operation(
        "POST",
        f"{CHAIN}/staff",
        "Add a staff member",
        "staff",
        create_staff,
        body=c.StaffCreate,
        response=c.Staff,
        status=201,
        roles=MANAGERS,
        needs_key=True,
    ),
    Operation(
        "GET",
        f"{CHAIN}/staff",
        "List staff in my scope",
        "staff",
        list_staff,
        query=c.StaffQuery,
        response=page_of(c.Staff),
    ),
    Operation("GET", f"{CHAIN}/staff/{{staff_id}}", "Show a staff member", "staff", get_staff, response=c.Staff),
    Operation(
        "PATCH",
        f"{CHAIN}/staff/{{staff_id}}",
        "Change a staff member",
        "staff",
        update_staff,
        body=c.StaffUpdate,
        response=c.Staff,
        roles=MANAGERS,
        revokes="staff",
    ),
    Operation(
        "POST",
        f"{CHAIN}/staff/{{staff_id}}/disable",
        "Disable (signs them out at once)",
        "staff",
        disable_staff,
        response=c.Staff,
        roles=MANAGERS,
        needs_key=True,
        revokes="staff",
    ),
    Operation(
        "POST",
        f"{CHAIN}/staff/{{staff_id}}/enable",
        "Enable again",
        "staff",
        enable_staff,
        response=c.Staff,
        roles=MANAGERS,
        needs_key=True,
    ),
    Operation(
        "POST",
        f"{CHAIN}/staff/{{staff_id}}/unlock",
        "Lift a sign-in lockout",
        "staff",
        unlock_staff,
        response=c.Staff,
        roles=MANAGERS,
        needs_key=True,
    ),
    Operation(
        "POST",
        f"{CHAIN}/staff/{{staff_id}}/password",
        "Set a new password for them",
        "staff",
        reset_staff_password,
        body=c.ResetPasswordRequest,
        response=c.Staff,
        roles=MANAGERS,
        needs_key=True,
        revokes="staff",
    ),
    Operation(
        "GET",
        f"{CHAIN}/access-log",
        "Sign-ins, sign-outs and failures",
        "staff",
        list_access_log,
        query=c.AccessLogQuery,
        response=page_of(c.AccessLogEntry),
        roles=MANAGERS,
    ),
    *dictionary_operations("categories", "consumption categories"),
    *dictionary_operations("items", "items and services"),
    *dictionary_operations("payment_methods", "payment methods"),
]
