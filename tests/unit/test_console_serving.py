"""The console's files as the gateway serves them: the page at `/`, its assets under
`/console/`, their types, revalidation by ETag, and nothing else of the folder."""

import falcon
from falcon import testing

from gateway import console, errors


def make_client() -> testing.TestClient:
    app = falcon.App()
    errors.install(app)
    console.install(app)
    return testing.TestClient(app)


def test_the_page_is_html_that_loads_only_our_own_scripts_and_is_never_cached_stale():
    result = make_client().simulate_get("/")
    assert result.status_code == 200
    assert result.headers["content-type"] == "text/html; charset=utf-8"
    assert result.headers["cache-control"] == "no-cache"
    assert "script-src 'self'" in result.headers["content-security-policy"]
    assert result.headers["x-content-type-options"] == "nosniff"
    assert '<script type="module" src="/console/app.js"></script>' in result.text
    assert "http" not in result.text.replace("http-equiv", "")  # nothing from another origin


def test_assets_have_their_types_and_an_unchanged_one_costs_a_304():
    client = make_client()
    script = client.simulate_get("/console/app.js")
    assert script.status_code == 200
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "import" in script.text
    assert client.simulate_get("/console/style.css").headers["content-type"] == "text/css; charset=utf-8"
    etag = script.headers["etag"]
    again = client.simulate_get("/console/app.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    changed = client.simulate_get("/console/app.js", headers={"If-None-Match": '"something-else"'})
    assert changed.status_code == 200 and changed.text == script.text


def test_every_module_the_page_imports_is_served():
    client = make_client()
    for name in ("app.js", "api.js", "dom.js", "money.js", "desk.js", "office.js", "receipt.js"):
        result = client.simulate_get(f"/console/{name}")
        assert result.status_code == 200, name
        for imported in result.text.split("from './")[1:]:
            module = imported.split("'")[0]
            assert client.simulate_get(f"/console/{module}").status_code == 200, f"{name} imports {module}"


def test_no_path_outside_the_folder_and_no_unknown_file():
    client = make_client()
    for path in ("/console/..%2Fconsole.py", "/console/../app.py", "/console/nope.js", "/console/.hidden.js"):
        result = client.simulate_get(path)
        assert result.status_code == 404, path
        assert result.json["error"]["code"] == "not_found"
