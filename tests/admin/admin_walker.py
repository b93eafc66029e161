"""A walker over the admin, as a user clicking every link and button would.

``AdminWalker(client).walk("/admin/")`` follows every link of the admin pages under the given
prefixes (pages elsewhere are opened once, not walked), submits every change form as it is,
runs every action on every row, and records each answer that is a server error, a missing
page, or a redirect with an error or warning message (the admin's "doesn't exist. Perhaps it
was deleted?"). ``problems`` lists them; a test asserts it is empty.
"""

import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

from django.contrib import messages

REVISION = re.compile(r"/history/\d+/$")
"""django-reversion's page of one version, whose form reverts the instance to it."""

SAMPLES = {"text": "x", "email": "someone@example.com", "number": "1"}
"""A value for each kind of empty input of a change or add form (a textarea gets ``x``)."""


class Page(HTMLParser):
    """The links of an HTML page and its forms (fields as the browser would submit them)."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.html = html
        self.links: list[str] = []
        self.forms: list[dict] = []
        self._select: tuple[str, list] | None = None
        self._textarea: str | None = None
        self.feed(html)

    @property
    def form(self) -> dict | None:
        return self.forms[-1] if self.forms else None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        elif tag == "form":
            self.forms.append(
                {
                    "id": attrs.get("id", ""),
                    "action": attrs.get("action", ""),
                    "method": attrs.get("method", "get").lower(),
                    "fields": [],
                    "submits": [],
                }
            )
        elif self.form is None:
            return
        elif tag == "input":
            self.handle_input(attrs)
        elif tag == "select" and attrs.get("name"):
            self._select = (attrs["name"], [])
        elif tag == "option" and self._select is not None and "selected" in attrs:
            self._select[1].append(attrs.get("value", ""))
        elif tag == "textarea" and attrs.get("name"):
            self._textarea = attrs["name"]
            self.form["fields"].append((attrs["name"], ""))

    def handle_input(self, attrs):
        name, kind = attrs.get("name"), attrs.get("type", "text")
        if not name or "disabled" in attrs:
            return
        if kind == "submit":
            self.form["submits"].append((name, attrs.get("value", "")))
        elif kind in ("checkbox", "radio"):
            if "checked" in attrs:
                self.form["fields"].append((name, attrs.get("value", "on")))
        elif kind not in ("button", "image", "reset", "file"):
            value = attrs.get("value", "")
            if not value and self.form["id"].endswith("_form") and kind in SAMPLES:
                value = SAMPLES[kind]  # what a user types into an empty field
            self.form["fields"].append((name, value))

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea is not None:
            name, value = self.form["fields"].pop()
            self.form["fields"].append((name, value if value.strip() else SAMPLES["text"]))
        if tag == "select" and self._select is not None:
            name, values = self._select
            self.form["fields"].extend((name, value) for value in values)
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea is not None:
            name, value = self.form["fields"].pop()
            self.form["fields"].append((name, value + data))


def as_data(fields) -> dict[str, list[str]]:
    data: dict[str, list[str]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    return data


def model_name(url: str) -> str:
    """``task`` of ``/admin/joeflow_temporal/task/1/change/``."""
    return urlsplit(url).path.split("/")[3]


def form_errors(response) -> list[str]:
    """The errors of an admin form page that did not save."""
    errors = (response.context or {}).get("errors") if response.context else None
    return [str(error) for error in errors or ()]


def complaints(response) -> list[str]:
    """The error and warning messages the page shows (after a redirect, the messages the
    redirect left), or that it is the login page (the walk lost its session)."""
    if any("/login/" in url for url, _ in response.redirect_chain):
        return ["redirected to the login page"]
    context = response.context or {}
    found = context.get("messages") if hasattr(context, "get") else None
    return [str(m) for m in found or () if m.level >= messages.WARNING]


class AdminWalker:
    LIMIT = 600
    """Pages at most: a bound, in case links multiply (sorting, filters)."""

    def __init__(self, client, prefixes=("/admin/",), skip=("/admin/logout/",)):
        self.client = client
        self.client.raise_request_exception = False
        self.prefixes = prefixes
        self.skip = skip
        self.problems: list[str] = []
        self.visited: set[str] = set()
        self.change_forms: dict[str, Page] = {}
        self.changelists: dict[str, Page] = {}

    def walk(self, start: str) -> "AdminWalker":
        queue = deque([start])
        while queue and len(self.visited) < self.LIMIT:
            url = queue.popleft()
            if url in self.visited:
                continue
            self.visited.add(url)
            page = self.open(url)
            if page is None or not (url == start or self.walkable(url)):
                continue
            for href in page.links:
                link = self.resolve(url, href)
                if link and link not in self.visited:
                    # Sort and filter links of a sorted or filtered list: one level is enough.
                    if "?" in url and "?" in link:
                        continue
                    queue.append(link)
        return self

    def walkable(self, url: str) -> bool:
        path = urlsplit(url).path
        return path.startswith(self.prefixes) and not path.startswith(self.skip)

    def resolve(self, base: str, href: str) -> str | None:
        href, _ = urldefrag(href)
        if not href or href.startswith(("javascript:", "mailto:")):
            return None
        absolute = urljoin(base, href)
        parts = urlsplit(absolute)
        if parts.netloc and parts.netloc != "testserver":
            if parts.scheme not in ("http", "https"):
                self.problems.append(f"{base}: link {href!r} is not a web address")
            return None  # another site (the Temporal web UI): not ours to open
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return None if parts.path.startswith(self.skip) else path

    def open(self, url: str) -> Page | None:
        response = self.client.get(url, follow=True)
        if response.status_code != 200 or complaints(response):
            self.problems.append(
                f"GET {url}: {response.status_code} {complaints(response)} "
                f"(via {[u for u, _ in response.redirect_chain]})"
            )
            return None
        if "html" not in response.get("Content-Type", ""):
            return None
        page = Page(response.content.decode())
        path = urlsplit(url).path
        if not self.walkable(url):
            return page
        if path.endswith(("/change/", "/add/")) or REVISION.search(path):
            self.change_forms[url] = page
        elif "?" not in url and response.context.get("cl") is not None:
            self.changelists[url] = page
        return page

    def submit_change_forms(self) -> "AdminWalker":
        """Press "Save and continue editing" on every change, add and revert page, with what a
        user would type into its empty fields: the object must be saved and still be there."""
        for url, page in self.change_forms.items():
            form = next((f for f in page.forms if f["id"] == f"{model_name(url)}_form"), None)
            if form is None:
                continue
            data = as_data(form["fields"])
            data["_continue"] = ["Save and continue editing"]
            response = self.client.post(urljoin(url, form["action"]) or url, data, follow=True)
            errors = form_errors(response) if not response.redirect_chain else []
            if response.status_code != 200 or complaints(response) or errors:
                self.problems.append(
                    f"POST {url}: {response.status_code} {complaints(response)} {errors} "
                    f"(via {[u for u, _ in response.redirect_chain]})"
                )
        return self

    def run_actions(self, skip_actions=("delete_selected",)) -> "AdminWalker":
        """Run every action of every list on all its rows (the admin's confirmation page of
        ``delete_selected`` is opened, not confirmed)."""
        for url, page in self.changelists.items():
            form = next((f for f in page.forms if f["id"] == "changelist-form"), None)
            if form is None:
                continue
            ids = [value for name, value in form["fields"] if name == "_selected_action"]
            actions = [
                value for value in options_of(page, "action") if value and value not in skip_actions
            ]
            for action in [*actions, *skip_actions]:
                if not ids:
                    break
                data = {"action": action, "_selected_action": ids, "index": "0"}
                response = self.client.post(url, data, follow=True)
                if response.status_code != 200 or any(
                    "No action selected" in m for m in complaints(response)
                ):
                    self.problems.append(
                        f"POST {url} action {action}: {response.status_code} {complaints(response)}"
                    )
        return self


def options_of(page: Page, name: str) -> list[str]:
    """Every option value of the select ``name`` (selected or not)."""
    return OptionCollector(page.html, name).values


class OptionCollector(HTMLParser):
    def __init__(self, html: str, name: str):
        super().__init__(convert_charrefs=True)
        self.name, self.values, self._inside = name, [], False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "select":
            self._inside = attrs.get("name") == self.name
        elif tag == "option" and self._inside:
            self.values.append(attrs.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "select":
            self._inside = False
