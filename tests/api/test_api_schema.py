"""The OpenAPI document is valid and complete; its Swagger UI page uses local files only."""

import re

from django.contrib.staticfiles import finders
from openapi_spec_validator import validate

from tests.helpers import client_for, url

PATHS = {
    "/api/": {"get"},
    "/api/workflows/": {"get"},
    "/api/workflows/{workflow}/": {"get"},
    "/api/workflows/{workflow}/start/{task}/": {"post"},
    "/api/workflows/{workflow}/instances/": {"get"},
    "/api/workflows/{workflow}/instances/{id}/": {"get"},
    "/api/workflows/{workflow}/instances/{id}/override/": {"post"},
    "/api/workflows/{workflow}/instances/{id}/cancel/": {"post"},
    "/api/workflows/{workflow}/instances/{id}/events/{name}/": {"post"},
    "/api/tasks/": {"get"},
    "/api/tasks/{id}/": {"get"},
    "/api/tasks/{id}/complete/": {"post"},
    "/api/tasks/{id}/rerun/": {"post"},
    "/api/tasks/{id}/cancel/": {"post"},
    "/api/tasks/{id}/claim/": {"post"},
    "/api/tasks/{id}/unclaim/": {"post"},
    "/api/tasks/{id}/assign/": {"post"},
}


def test_the_openapi_document_is_valid_and_documents_bodies_and_errors(admin_client):
    response = client_for().get(url("schema"), {"format": "json"})
    assert response.status_code == 401

    response = admin_client.get(url("schema"), {"format": "json"})

    assert response.status_code == 200
    document = response.json()
    validate(document)
    assert {path: set(ops) - {"parameters"} for path, ops in document["paths"].items()} == PATHS
    complete = document["paths"]["/api/tasks/{id}/complete/"]["post"]
    assert set(complete["responses"]) == {
        "200",
        "400",
        "401",
        "403",
        "404",
        "409",
        "413",
        "415",
        "503",
    }
    assert "application/json" in complete["requestBody"]["content"]
    assert complete["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CompletedTask"
    }
    start = document["paths"]["/api/workflows/{workflow}/start/{task}/"]["post"]
    assert set(start["responses"]) == {"201", "400", "401", "404", "413", "415", "503"}
    assert start["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/StartedInstance"
    }
    override = document["paths"]["/api/workflows/{workflow}/instances/{id}/override/"]["post"]
    body = override["requestBody"]["content"]["application/json"]["schema"]
    assert "required" not in body, "fields only, next_tasks or end_instance"
    assert set(body["properties"]) == {"next_tasks", "end_instance", "comment"}
    inbox = document["paths"]["/api/tasks/"]["get"]
    parameters = {p["name"]: p for p in inbox["parameters"]}
    assert {"status", "type", "workflow", "assignee", "candidate", "overdue", "page"} <= set(
        parameters
    )
    assert parameters["ordering"]["schema"]["enum"] == [
        "due",
        "-due",
        "priority",
        "-priority",
        "created",
        "-created",
    ]
    assert {"basicAuth", "cookieAuth"} <= set(document["components"]["securitySchemes"])
    schemas = document["components"]["schemas"]
    assert {"Instance", "Task", "TaskDetail", "WorkflowType", "Error"} <= set(schemas)
    assert set(schemas["APIRoot"]["properties"]) == {"workflows", "tasks", "schema", "docs"}
    assert {"due", "overdue", "priority", "comment", "assignees", "candidate_groups"} <= set(
        schemas["Task"]["properties"]
    )
    assert schemas["Comment"]["properties"]["comment"]["maxLength"] == 2000
    assert schemas["Assign"]["required"] == ["assignees"]
    for action in ("rerun", "cancel", "claim", "unclaim", "assign"):
        operation = document["paths"][f"/api/tasks/{{id}}/{action}/"]["post"]
        assert {"200", "400", "403", "404", "409"} <= set(operation["responses"]), action
        assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/TaskDetail"
        }
        body = operation.get("requestBody")
        assert bool(body and body.get("required")) == (action == "assign"), action
    cancel = document["paths"]["/api/workflows/{workflow}/instances/{id}/cancel/"]["post"]
    assert cancel["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Comment"
    }
    events = document["paths"]["/api/workflows/{workflow}/instances/{id}/events/{name}/"]["post"]
    assert set(events["responses"]) == {
        "200",
        "201",
        "400",
        "401",
        "403",
        "404",
        "409",
        "413",
        "415",
        "503",
    }
    for code in ("200", "201"):
        assert events["responses"][code]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Event"
        }
    name = next(p for p in events["parameters"] if p["name"] == "name")
    assert {"payment_received", "installment"} <= set(name["schema"]["enum"])
    body = events["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["event_id"]["maxLength"] == 255
    assert set(schemas["Event"]["properties"]) == {
        "id",
        "name",
        "event_id",
        "data",
        "created",
        "task",
        "sent_by",
    }
    instance = schemas["Instance"]["properties"]
    assert instance["parent_task"]["allOf"] == [{"$ref": "#/components/schemas/TaskReference"}]
    assert instance["children"]["items"] == {"$ref": "#/components/schemas/ChildInstance"}
    assert set(schemas["ChildInstance"]["properties"]["failed_tasks"]["items"].values()) == {
        "#/components/schemas/FailedTask"
    }
    next_task = schemas["NextTask"]["properties"]
    assert set(next_task) == {"id", "name", "type", "status", "url"}
    for name in ("CompletedTask", "StartedInstance"):
        assert schemas[name]["properties"]["next_tasks"]["items"] == {
            "$ref": "#/components/schemas/NextTask"
        }


def test_swagger_ui_is_served_from_local_static_files(admin_client):
    response = admin_client.get(url("swagger-ui"))

    assert response.status_code == 200
    page = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in assets
    assert all(asset.startswith("/static/") for asset in assets), assets
    assert "https://" not in page and "cdn" not in page.lower()
    for asset in assets:
        assert finders.find(asset.removeprefix("/static/")), f"{asset} is not a local file"
    assert url("schema") in page
