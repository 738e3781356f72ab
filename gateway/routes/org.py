"""HTTP operations of the `org` service."""

from __future__ import annotations

from contracts import org as c
from contracts.auth import FRANCHISEE, HQ_ADMIN, PLATFORM_ADMIN, STORE_MANAGER, PrincipalSchema
from contracts.base import page_of
from gateway.operations import Call, Operation

HQ = (PLATFORM_ADMIN, HQ_ADMIN)
MANAGERS = (PLATFORM_ADMIN, HQ_ADMIN, FRANCHISEE, STORE_MANAGER)
CHAIN = "/chains/{chain_id}"


# ---- sign-in ----------------------------------------------------------------------


def sign_in(call: Call) -> dict:
    return call.rpc("org", "sign_in", call.body, call.ip, call.user_agent)


def sign_out(call: Call) -> None:
    call.rpc("org", "sign_out", call.token, call.ip, call.user_agent)


def me(call: Call) -> dict:
    return call.who


def change_password(call: Call) -> None:
    call.rpc("org", "change_password", call.who, call.token, call.body, call.ip, call.user_agent)


# ---- chains -------------------------------------------------------------------------


def create_chain(call: Call) -> dict:
    return call.rpc("org", "create_chain", call.who, call.body, call.idempotency_key)


def list_chains(call: Call) -> dict:
    return call.rpc("org", "list_chains", call.who, call.query)


def get_chain(call: Call) -> dict:
    return call.rpc("org", "get_chain", call.who, call.params["chain_id"])


def update_chain(call: Call) -> dict:
    return call.rpc("org", "update_chain", call.who, call.params["chain_id"], call.body)


def get_settings(call: Call) -> dict:
    return call.rpc("org", "get_chain", call.who, call.params["chain_id"])["settings"]


def update_settings(call: Call) -> dict:
    return call.rpc("org", "update_settings", call.who, call.params["chain_id"], call.body)


# ---- stores ---------------------------------------------------------------------------


def create_store(call: Call) -> dict:
    return call.rpc("org", "create_store", call.who, call.params["chain_id"], call.body, call.idempotency_key)


def list_stores(call: Call) -> dict:
    return call.rpc("org", "list_stores", call.who, call.params["chain_id"], call.query)


def get_store(call: Call) -> dict:
    return call.rpc("org", "get_store", call.who, call.params["chain_id"], call.params["store_id"])


def update_store(call: Call) -> dict:
    return call.rpc("org", "update_store", call.who, call.params["chain_id"], call.params["store_id"], call.body)


def decide_store(call: Call) -> dict:
    p = call.params
    return call.rpc("org", "decide_store", call.who, p["chain_id"], p["store_id"], call.body, call.idempotency_key)


# ---- staff ------------------------------------------------------------------------------


def create_staff(call: Call) -> dict:
    return call.rpc("org", "create_staff", call.who, call.params["chain_id"], call.body, call.idempotency_key)


def list_staff(call: Call) -> dict:
    return call.rpc("org", "list_staff", call.who, call.params["chain_id"], call.query)


def get_staff(call: Call) -> dict:
    return call.rpc("org", "get_staff", call.who, call.params["chain_id"], call.params["staff_id"])


def update_staff(call: Call) -> dict:
    return call.rpc("org", "update_staff", call.who, call.params["chain_id"], call.params["staff_id"], call.body)


def disable_staff(call: Call) -> dict:
    p = call.params
    return call.rpc("org", "set_staff_status", call.who, p["chain_id"], p["staff_id"], "disabled", call.idempotency_key)


def enable_staff(call: Call) -> dict:
    p = call.params
    return call.rpc("org", "set_staff_status", call.who, p["chain_id"], p["staff_id"], "active", call.idempotency_key)


def unlock_staff(call: Call) -> dict:
    p = call.params
    return call.rpc("org", "unlock_staff", call.who, p["chain_id"], p["staff_id"], call.idempotency_key)


def reset_staff_password(call: Call) -> dict:
    p = call.params
    return call.rpc(
        "org", "reset_staff_password", call.who, p["chain_id"], p["staff_id"], call.body, call.idempotency_key
    )


def list_access_log(call: Call) -> dict:
    return call.rpc("org", "list_access_log", call.who, call.params["chain_id"], call.query)


# ---- dictionaries ---------------------------------------------------------------------------


def dictionary_operations(name: str, title: str) -> list[Operation]:
    create_contract, update_contract = c.DICTIONARY_CONTRACTS[name]
    view = c.DICTIONARY_VIEWS[name]
    path = f"{CHAIN}/{name.replace('_', '-')}"

    def listing(call: Call) -> dict:
        return call.rpc("org", "list_dictionary", call.who, call.params["chain_id"], name, call.query)

    def create(call: Call) -> dict:
        return call.rpc(
            "org", "create_dictionary_entry", call.who, call.params["chain_id"], name, call.body, call.idempotency_key
        )

    def update(call: Call) -> dict:
        p = call.params
        return call.rpc("org", "update_dictionary_entry", call.who, p["chain_id"], name, p["entry_id"], call.body)

    listing.__name__, create.__name__, update.__name__ = f"list_{name}", f"create_{name}", f"update_{name}"
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
    Operation("POST", "/auth/sign-out", "Revoke this token", "auth", sign_out, status=204),
    Operation("GET", "/auth/me", "Who am I", "auth", me, response=PrincipalSchema),
    Operation(
        "POST",
        "/auth/password",
        "Change my password (signs out my other devices)",
        "auth",
        change_password,
        body=c.ChangePasswordRequest,
        status=204,
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
