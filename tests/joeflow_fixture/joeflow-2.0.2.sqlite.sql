BEGIN;
--
-- Create model Workflow
--
CREATE TABLE "joeflow_workflow" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "created" datetime NOT NULL, "modified" datetime NOT NULL);
--
-- Create model Task
--
CREATE TABLE "joeflow_task" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "name" varchar(255) NOT NULL, "type" varchar(50) NOT NULL, "status" varchar(50) NOT NULL, "created" datetime NOT NULL, "modified" datetime NOT NULL, "completed" datetime NULL, "exception" text NOT NULL, "stacktrace" text NOT NULL, "workflow_id" bigint NOT NULL REFERENCES "joeflow_workflow" ("id") DEFERRABLE INITIALLY DEFERRED, "completed_by_user_id" integer NULL REFERENCES "auth_user" ("id") DEFERRABLE INITIALLY DEFERRED, "content_type_id" integer NOT NULL REFERENCES "django_content_type" ("id") DEFERRABLE INITIALLY DEFERRED);
CREATE TABLE "joeflow_task_assignees" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "task_id" bigint NOT NULL REFERENCES "joeflow_task" ("id") DEFERRABLE INITIALLY DEFERRED, "user_id" integer NOT NULL REFERENCES "auth_user" ("id") DEFERRABLE INITIALLY DEFERRED);
CREATE TABLE "joeflow_task_parent_task_set" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "from_task_id" bigint NOT NULL REFERENCES "joeflow_task" ("id") DEFERRABLE INITIALLY DEFERRED, "to_task_id" bigint NOT NULL REFERENCES "joeflow_task" ("id") DEFERRABLE INITIALLY DEFERRED);
CREATE INDEX "joeflow_workflow_created_2ed2ee1d" ON "joeflow_workflow" ("created");
CREATE INDEX "joeflow_workflow_modified_58ad98f9" ON "joeflow_workflow" ("modified");
CREATE INDEX "joeflow_task_name_327a8a69" ON "joeflow_task" ("name");
CREATE INDEX "joeflow_task_type_4ebe5c9d" ON "joeflow_task" ("type");
CREATE INDEX "joeflow_task_status_f093f581" ON "joeflow_task" ("status");
CREATE INDEX "joeflow_task_created_f3580608" ON "joeflow_task" ("created");
CREATE INDEX "joeflow_task_modified_a7cae80a" ON "joeflow_task" ("modified");
CREATE INDEX "joeflow_task_completed_1f0f3fa0" ON "joeflow_task" ("completed");
CREATE INDEX "joeflow_task_workflow_id_36cb4033" ON "joeflow_task" ("workflow_id");
CREATE INDEX "joeflow_task_completed_by_user_id_b2cb06ec" ON "joeflow_task" ("completed_by_user_id");
CREATE INDEX "joeflow_task_content_type_id_177bcad7" ON "joeflow_task" ("content_type_id");
CREATE UNIQUE INDEX "joeflow_task_assignees_task_id_user_id_3cd8ffb1_uniq" ON "joeflow_task_assignees" ("task_id", "user_id");
CREATE INDEX "joeflow_task_assignees_task_id_dc73393e" ON "joeflow_task_assignees" ("task_id");
CREATE INDEX "joeflow_task_assignees_user_id_90ae361f" ON "joeflow_task_assignees" ("user_id");
CREATE UNIQUE INDEX "joeflow_task_parent_task_set_from_task_id_to_task_id_681a5f7d_uniq" ON "joeflow_task_parent_task_set" ("from_task_id", "to_task_id");
CREATE INDEX "joeflow_task_parent_task_set_from_task_id_4a3037ad" ON "joeflow_task_parent_task_set" ("from_task_id");
CREATE INDEX "joeflow_task_parent_task_set_to_task_id_b3751ad9" ON "joeflow_task_parent_task_set" ("to_task_id");
COMMIT;
