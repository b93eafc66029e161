"""The API's root lists its endpoints; a browser that is not signed in is sent to the login page.

API clients keep the 401 JSON answer with its ``WWW-Authenticate: Basic`` challenge. A browser
that follows a link to the API (the home page's "REST API" and "API docs") would show its Basic
authentication prompt on that challenge instead of the site's login page.
"""

import re
from urllib.parse import quote

import pytest
from django.test import Client

from tests.helpers import client_for, make_user, url

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"
"""What Chromium sends for a page it navigates to."""

PAGES = ["root", "workflow-list", "task-list", "schema", "swagger-ui"]
"""API URLs a browser may open (GET): the root, its listed endpoints, the document, its page."""


@pytest.fixture
def user(django_user_model):
    return make_user(django_user_model, "ada")


def test_the_root_lists_the_endpoints_with_absolute_urls(db, user):
    response = client_for(user).get(url("root"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "workflows": "http://testserver/api/workflows/",
        "tasks": "http://testserver/api/tasks/",
        "schema": "http://testserver/api/schema/",
        "docs": "http://testserver/api/schema/swagger-ui/",
    }
    for listed in response.json().values():
        assert client_for(user).get(listed).status_code == 200, listed


@pytest.mark.parametrize("accept", [None, "application/json", "*/*", "application/json, */*"])
@pytest.mark.parametrize("name", PAGES)
def test_api_clients_that_are_not_signed_in_get_401_json_with_a_challenge(db, name, accept):
    headers = {"HTTP_ACCEPT": accept} if accept else {}

    response = Client().get(url(name), **headers)

    if name == "swagger-ui" and accept == "application/json":  # an HTML page only
        assert response.status_code == 406 and response.json()["detail"]
        return
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")
    assert response["Content-Type"] == "application/json"
    assert "credentials were not provided" in response.json()["detail"]


@pytest.mark.parametrize("name", PAGES)
def test_browsers_that_are_not_signed_in_go_to_the_login_page_without_a_challenge(db, name):
    path = url(name)

    response = Client().get(path, HTTP_ACCEPT=BROWSER)

    assert response.status_code == 302
    assert "WWW-Authenticate" not in response
    assert response["Location"] == f"/accounts/login/?next={quote(path)}"
    assert Client().get(response["Location"], HTTP_ACCEPT=BROWSER).status_code == 200


def test_the_login_page_is_the_projects_login_url_and_keeps_the_query(db, settings):
    settings.LOGIN_URL = "/accounts/sign-in/"

    response = Client().get(url("schema"), {"format": "json"}, HTTP_ACCEPT=BROWSER)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/sign-in/?next=/api/schema/%3Fformat%3Djson"


def test_a_browsers_write_is_not_redirected(db):
    response = Client().post(url("task-complete", 1), {}, HTTP_ACCEPT=BROWSER)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")


def test_a_signed_in_browser_gets_the_pages(db, user):
    browser = Client()
    browser.force_login(user)

    root = browser.get(url("root"), HTTP_ACCEPT=BROWSER)
    docs = browser.get(url("swagger-ui"), HTTP_ACCEPT=BROWSER)

    assert root.status_code == 200 and root.json()["docs"].endswith(url("swagger-ui"))
    assert docs.status_code == 200 and docs["Content-Type"].startswith("text/html")


def test_every_link_of_the_home_page_reaches_a_page_for_a_browser_that_is_not_signed_in(db):
    browser = Client()
    home = browser.get("/", HTTP_ACCEPT=BROWSER)
    links = re.findall(r'<a [^>]*href="([^"]+)"', home.content.decode())
    assert url("root") in links and url("swagger-ui") in links

    for link in links:
        response = browser.get(link, HTTP_ACCEPT=BROWSER, follow=True)
        assert response.status_code == 200, link
        assert "WWW-Authenticate" not in response, link


def test_the_reference_projects_other_sign_in_pages_use_the_same_login_page(db):
    path = "/shipping/1/override"  # the override page asks for the permission to override

    response = Client().get(path, HTTP_ACCEPT=BROWSER)

    assert response["Location"] == f"/accounts/login/?next={quote(path)}"
    assert Client().get(response["Location"]).status_code == 200


@pytest.mark.parametrize("path", ["/api/nope/", "/api/workflow/", "/api/x/y/z/"])
def test_any_other_path_under_the_api_answers_json(db, user, path):
    anonymous = Client().get(path)
    signed_in = client_for(user).get(path)
    without_slash = client_for(user).get(path.rstrip("/"))

    assert (anonymous.status_code, anonymous["Content-Type"]) == (401, "application/json")
    assert (signed_in.status_code, signed_in["Content-Type"]) == (404, "application/json")
    assert (without_slash.status_code, without_slash["Location"]) == (301, path)


def test_a_path_without_its_slash_is_sent_to_the_endpoint(db, user):
    response = client_for(user).get("/api/workflows")

    assert (response.status_code, response["Location"]) == (301, "/api/workflows/")


@pytest.mark.parametrize("name", PAGES)
def test_a_browser_that_accepts_only_html_goes_to_the_login_page_too(db, name):
    """DRF negotiates the content type before it authenticates: for someone not signed in,
    "HTML only" is not a 406 but the login page."""
    response = Client().get(url(name), HTTP_ACCEPT="text/html")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_a_user_who_is_not_staff_signs_in_on_the_reference_projects_login_page(db, user):
    browser = Client()
    login = browser.get("/api/", HTTP_ACCEPT=BROWSER)["Location"]

    signed_in = browser.post(login, {"username": user.get_username(), "password": "pw"})

    assert not user.is_staff
    assert (signed_in.status_code, signed_in["Location"]) == (302, "/api/")
    assert browser.get("/api/", HTTP_ACCEPT="application/json").status_code == 200
