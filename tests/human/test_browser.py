"""A real browser (Debian's headless Chromium, driven by Playwright) through the demo.

Screenshots land in ``test-artifacts/`` for a human to look at.
"""

import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from django_integration.demo.models import ShippingWorkflow
from joeflow_temporal.models import Task
from tests.helpers import ROOT, scheduled, wait_until
from tests.testapp import models

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def visitor(live_server, transactional_db, django_user_model, monkeypatch):
    """A page in Chromium, not signed in (the superuser ``admin``, password ``admin``, exists)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API keeps an event loop in this thread; the ORM calls made here are
    # still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: bin/setup installs Debian's chromium package.")
    django_user_model.objects.create_superuser("admin", "", "admin")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(20_000)
        yield page
        browser.close()


def sign_in(page):
    """Fill in the login page ``page`` shows."""
    page.fill("#id_username", "admin")
    page.fill("#id_password", "admin")
    page.click("input[type=submit]")


@pytest.fixture
def page(visitor, live_server, worker):
    """A page in Chromium, signed in as the superuser ``admin``."""
    visitor.goto(f"{live_server.url}/accounts/login/?next=/")
    sign_in(visitor)
    visitor.wait_for_url(f"{live_server.url}/")
    return visitor


def shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_ship_an_order_in_the_browser(page, live_server):
    page.click("a.start[href='/shipping/checkout/']")
    page.fill("#id_shipping_address", "1007 Mountain Drive, Gotham")
    page.fill("#id_email", "bruce@wayne.example")
    shot(page, "1-checkout")
    page.click("button[type=submit]")

    page.wait_for_url(f"{live_server.url}/shipping/ship/*/")  # straight on to the next task
    workflow = ShippingWorkflow.objects.get()
    ship = workflow.task_set.get(name="ship", status="scheduled")
    assert page.url == f"{live_server.url}{ship.get_absolute_url()}"
    page.goto(f"{live_server.url}{workflow.get_absolute_url()}")
    assert page.locator(".graph svg").count() == 1

    page.goto(f"{live_server.url}/")
    shot(page, "2-inbox")
    page.click("#inbox a:text-is('ship')")
    page.fill("#id_tracking_code", "BAT-42")
    shot(page, "3-ship")
    page.click("button[type=submit]")

    wait_until(lambda: ShippingWorkflow.objects.get(pk=workflow.pk).completed)
    page.goto(f"{live_server.url}{workflow.get_absolute_url()}")
    shot(page, "4-instance-done")
    assert page.locator("text=ended").count() >= 1
    end_node = page.locator(".graph svg g.node", has_text="end")
    assert end_node.locator("polygon, path").first.get_attribute("fill") == "#e8f5e9"
    workflow.refresh_from_db()
    assert workflow.tracking_code == "BAT-42"


def test_rerun_a_failed_task_from_the_admin(page, live_server):
    workflow = models.FailingWorkflow.start(fail=True)
    task = wait_until(lambda: workflow.task_set.failed().first())
    models.FailingWorkflow.objects.filter(pk=workflow.pk).update(fail=False)

    page.goto(f"{live_server.url}/admin/joeflow_temporal/task/?status__exact=failed")
    shot(page, "5-admin-failed")
    page.check(f"input[name=_selected_action][value='{task.pk}']")
    page.select_option("select[name=action]", "rerun")
    page.click("button[name=index]")
    page.fill("textarea[name=comment]", "The input is fixed.")  # the confirmation page asks why
    shot(page, "6-admin-rerun-confirm")
    page.click("input[type=submit][value='Rerun the selected tasks']")
    page.wait_for_selector("text=1 task(s) sent to run again.")
    shot(page, "6-admin-rerun")

    wait_until(lambda: Task.objects.get(pk=task.pk).status == Task.SUCCEEDED)
    page.goto(f"{live_server.url}/admin/joeflow_temporal/task/{task.pk}/change/")
    assert page.locator(".field-status .readonly").inner_text() == "succeeded"
    assert page.locator(".field-comment .readonly").inner_text() == "The input is fixed."


def test_the_api_links_take_a_visitor_to_the_login_page_and_back(visitor, live_server):
    challenges = []  # a WWW-Authenticate header makes a browser show its password prompt
    visitor.on("response", lambda r: "www-authenticate" in r.headers and challenges.append(r.url))
    visitor.goto(f"{live_server.url}/")

    visitor.click("nav a:text-is('REST API')")
    visitor.wait_for_url(f"{live_server.url}/accounts/login/?next=/api/")
    shot(visitor, "7-api-login")
    sign_in(visitor)
    visitor.wait_for_url(f"{live_server.url}/api/")
    root = json.loads(visitor.locator("body").inner_text())
    assert root["docs"] == f"{live_server.url}/api/schema/swagger-ui/"

    visitor.context.clear_cookies()  # signed out again
    visitor.goto(f"{live_server.url}/")
    visitor.click("nav a:text-is('API docs')")
    visitor.wait_for_url(f"{live_server.url}/accounts/login/?next=/api/schema/swagger-ui/")
    sign_in(visitor)
    visitor.wait_for_url(f"{live_server.url}/api/schema/swagger-ui/")
    visitor.wait_for_selector(".opblock-summary-path >> text=/api/tasks/")  # the document loaded
    shot(visitor, "8-api-docs")
    assert challenges == []


def test_a_form_posted_after_the_task_was_completed_elsewhere_says_so(
    page, live_server, django_user_model
):
    """The page was open while someone completed the task: the post says who, and when."""
    workflow = ShippingWorkflow.start_with("checkout", {"shipping_address": "Gotham"})
    ship = wait_until(lambda: workflow.task_set.scheduled().filter(name="ship").first())
    page.goto(f"{live_server.url}{ship.get_absolute_url()}")
    page.fill("#id_tracking_code", "LATE-1")
    ship.complete(user=django_user_model.objects.get(username="admin"))

    with page.expect_navigation() as navigation:
        page.click("button[type=submit]")

    shot(page, "7-stale-form")
    assert navigation.value.status == 409
    assert "was completed by admin" in page.locator(".errorlist").inner_text()
    assert page.input_value("#id_tracking_code") == "LATE-1", "what the user typed stays"
    workflow.refresh_from_db()
    assert workflow.tracking_code == ""


def test_claim_and_complete_a_task_from_the_inbox(visitor, live_server, worker, tmp_path):
    """A reviewer signs in on the inbox, claims a task offered to her group, completes it."""
    reviewers = Group.objects.create(name="reviewers")
    rita = get_user_model().objects.create_user("rita", password="pw")
    reviewers.user_set.add(rita)
    urgent, soon, late = (models.InboxWorkflow.start() for _ in range(3))
    review = scheduled(urgent, "review")
    Task.objects.filter(pk=review.pk).update(priority=5, comment="The auditor is waiting.")
    Task.objects.filter(pk=scheduled(late, "review").pk).update(
        due=timezone.now() - timedelta(hours=3)
    )
    scheduled(soon, "review")

    visitor.goto(f"{live_server.url}/tasks/")
    visitor.wait_for_url(f"{live_server.url}/accounts/login/?next=/tasks/")
    visitor.fill("#id_username", "rita")
    visitor.fill("#id_password", "pw")
    visitor.click("input[type=submit]")
    visitor.wait_for_url(f"{live_server.url}/tasks/")
    assert "Nothing is assigned to you" in visitor.locator(".empty").inner_text()

    visitor.click("#tab-claimable")
    rows = visitor.locator("#inbox-claimable tbody tr")
    assert rows.count() == 3
    assert rows.first.get_attribute("id") == f"task-{review.pk}", "highest priority first"
    assert visitor.locator("#inbox-claimable .overdue").count() == 1
    shot(visitor, "9-inbox-claimable")
    visitor.click(f"#task-{review.pk} button.claim")
    visitor.wait_for_selector(f"text=Task review #{review.pk} is yours now.")
    assert list(review.assignees.all()) == [rita]
    assert visitor.locator("#inbox-claimable tbody tr").count() == 2
    screenshot = tmp_path / "inbox.png"
    visitor.screenshot(path=str(screenshot), full_page=True)
    shutil.copy(screenshot, "/tmp/inbox.png")

    visitor.click("#tab-mine")
    visitor.wait_for_selector(f"#inbox-mine #task-{review.pk}")
    shot(visitor, "10-inbox-mine")

    visitor.click(f"#task-{review.pk} a.open")
    visitor.wait_for_url(f"{live_server.url}{review.get_absolute_url()}")
    meta = visitor.locator(".task-meta").inner_text()
    assert "reviewers" in meta and "The auditor is waiting." in meta
    shot(visitor, "11-inbox-task")
    visitor.check("#id_approved")
    visitor.click("button[type=submit]")

    wait_until(lambda: Task.objects.get(pk=review.pk).status == Task.SUCCEEDED)
    assert Task.objects.get(pk=review.pk).completed_by_user == rita
    assert models.InboxWorkflow.objects.get(pk=urgent.pk).approved
    visitor.goto(f"{live_server.url}/tasks/")
    assert visitor.locator(f"#task-{review.pk}").count() == 0, "done: out of the inbox"
