"""The one generic Temporal workflow: it walks the graph of any joeflow workflow class.

Every open task has a driver coroutine that moves it through its phases (create the row, run
the method or wait for a human, a timer or a join) and, when the task is done, puts its next
tasks into the state. The state is plain data, so continue-as-new, cancel and override all use
one mechanism: *quiesce* (each driver stops at its next safe point), change or carry the state,
and launch drivers again.
"""

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import (
    RetryPolicy,
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    FailureError,
    WorkflowAlreadyStartedError,
)

from joeflow_temporal.engine import names
from joeflow_temporal.engine.payloads import (
    CancelRequest,
    CancelTasks,
    ChildEnded,
    ChildStart,
    ConfirmTask,
    ConsumeEvent,
    CreateChildren,
    CreatedChildren,
    CreatedTask,
    CreateTask,
    MachineOutcome,
    OverrideRequest,
    ParentRef,
    RunHook,
    RunMachineTask,
    TaskAssigned,
    TaskRef,
    TimedOut,
    TimeOut,
    WalkerInput,
    WorkflowRef,
)
from joeflow_temporal.engine.spec import Graph, Node, NodeKind, TaskStatus, TaskType
from joeflow_temporal.engine.state import HookCall, OpenTask, Phase, SentEvent, WalkerState

MIRROR_TIMEOUT = timedelta(seconds=30)
MIRROR_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30))
"""Mirror writes retry for as long as the database is away; they are idempotent."""
CONFIRM_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=100), maximum_interval=timedelta(seconds=2)
)
"""Before ``CONFIRM_WHILE_RUNNING``: poll for a commit until the config's ``confirm_timeout``."""

CONFIRM_OVERRIDE_FIRST = "confirm-override-before-dropping-tasks"
"""Patch id: overrides are confirmed before the open tasks are dropped (was: after)."""
ONE_ACTIVITY_PER_STEP = "one-activity-per-machine-step"
"""Patch id: a machine task's first run creates its row (was: a create activity before it),
and mirror-only writes are local activities (were: regular ones)."""

CONFIRM_INSTANCE_CANCEL = "confirm-instance-cancel"
"""Patch id: an instance cancel that names its ``cancel`` task is confirmed against it before
anything is canceled (was: acted on at once, even when its transaction rolled back)."""

CONFIRM_WHILE_RUNNING = "confirm-looks-while-running"
"""Patch id: the confirm activity looks for the commit for ``confirm_timeout`` while it runs and
is retried through worker losses (was: a schedule-to-close timeout, which also counted the time
it waited for a worker, so a late worker dropped starts and completions for good)."""

HUMAN_TASK_MAY_FAIL = "human-task-creation-may-fail"
"""Patch id: a human task's row comes from ``create_human_task``, which records a raising
``create_task`` hook as a failed task that waits for a rerun or cancel (was: ``create_task``,
retried silently for as long as the hook raised)."""

HUMAN_WORK = "human-work-timers-and-hooks"
"""Patch id: a human task with ``on_timeout``, reminders or an ``on_task_created`` hook gets
its due and reminder timers and hook activities (was: none of them). Asked only for such tasks,
so the histories of other instances stay as they were."""

ON_TASK_CREATED = "on_task_created"
ON_TASK_ASSIGNED = "on_task_assigned"
ON_TASK_REMINDER = "on_task_reminder"
HOOKS_DRIVER = "hooks"
"""The driver key of the coroutine that runs hook activities (no task key looks like it)."""
HOOK_TIMEOUT = timedelta(minutes=5)
HOOK_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=10,
)
"""A hook (a project's code, e-mail) is retried for about seven minutes, then given up on and
logged: a notification that cannot be sent never holds up the instance for good."""

PROCESS_STRUCTURE = "subworkflows-and-events"
"""Patch id: subworkflow and event tasks (``Phase.CHILDREN``, ``Phase.EVENT``) and a child
instance's ``child_ended`` signal to its parent. Marked at the start of a run whose graph has
such nodes, or that is a child; instances from before never reach that code (their graphs have
no such nodes and they have no parent)."""
CHILD_BATCH = 100
"""Child instances created-and-returned by one activity and started together: a batch's events
(three per child) leave room in a run for the continue-as-new that may follow it."""
MAX_PENDING_CHILDREN = 1_000
"""Children of one task running at once, at most: Temporal allows 2,000 pending children per
execution; the next batch starts when enough have ended."""
CHILD_SEARCH_ATTRIBUTE = SearchAttributeKey.for_keyword(names.SEARCH_ATTRIBUTE)

RUN_HISTORY_LIMIT = 4_000
"""Continue as new at this many events even before the server suggests it: the server only
says so when a workflow task starts, and a chain of local activities runs in one long task."""

BUSY_PHASES = frozenset({Phase.CONFIRM_START, Phase.CREATE, Phase.RUN})
"""Phases in which a task's driver is at work (an activity), not waiting for the outside."""

MAX_DOUBLINGS = 20
"""Poll backoff doubles at most this often (then the cap applies anyway; avoids overflow)."""

PHASE_OF_KIND = {
    NodeKind.METHOD: Phase.RUN,
    NodeKind.VIEW: Phase.HUMAN,
    NodeKind.START_VIEW: Phase.HUMAN,
    NodeKind.WAIT: Phase.WAIT,
    NodeKind.JOIN: Phase.JOIN,
    NodeKind.START: Phase.WAIT,
    NodeKind.SUBWORKFLOW: Phase.CHILDREN,
    NodeKind.EVENT: Phase.EVENT,
}
"""The phase a node's task enters once its row is created: how the walker drives each kind."""


@workflow.defn(name=names.WORKFLOW_TYPE)
class JoeflowWalker:
    @workflow.init
    def __init__(self, input: WalkerInput) -> None:
        self._input = input
        self._state = input.state or WalkerState(
            tasks={
                "start": OpenTask(
                    key="start",
                    name=input.start_node,
                    id=input.start_task_id,
                    phase=Phase.CONFIRM_START,
                )
            }
        )
        self._drivers: dict[str, asyncio.Task[None]] = {}
        self._draining = False
        self._cancel_requests: list[CancelRequest | None] = []
        """``cancel`` signals not yet handled (None: from a Django without cancel tasks)."""
        self._overrides: list[OverrideRequest] = []
        self._fatal: BaseException | None = None
        self._one_activity_per_step = False
        self._history_length = 0
        self._markers_since = 0
        """Local activities completed since ``_history_length`` last changed: one event each."""
        self._in_flight = 0
        """Activities awaited right now (by drivers and the main loop): the queries' view of
        whether the engine is working."""
        self._confirming: set[int] = set()
        """Tasks whose signal is being confirmed (already taken off the signal lists)."""

    @workflow.run
    async def run(self, input: WalkerInput) -> WalkerState:
        # Decided once per run, so a run that began before the patch replays the old way.
        self._one_activity_per_step = workflow.patched(ONE_ACTIVITY_PER_STEP)
        if self._input.parent is not None or any(
            node.kind in (NodeKind.SUBWORKFLOW, NodeKind.EVENT)
            for node in self._graph.nodes.values()
        ):
            workflow.patched(PROCESS_STRUCTURE)  # at the start: a marker after a local activity
            # may fall into the next workflow task, where a replay would not expect it
        self._launch_all()
        try:
            while True:
                await workflow.wait_condition(self._needs_attention)
                if self._fatal:
                    raise ApplicationError(str(self._fatal), type="JoeflowEngineError")
                if self._cancel_requests:
                    if await self._cancel_committed():
                        await self._cancel_instance()
                        await self._tell_parent()
                        return self._state
                    continue
                if self._overrides:
                    await self._apply_overrides()
                    continue
                if not self._state.tasks:
                    await self._mirror(names.FINISH_WORKFLOW, self._input.workflow)
                    await self._tell_parent()
                    return self._state
                await self._quiesce()
                if self._state.tasks and not (self._cancel_requests or self._overrides):
                    workflow.continue_as_new(self._next_run_input())
                self._resume()
        except asyncio.CancelledError:
            # Temporal cancellation: mirror it, then let the execution end as canceled.
            await self._cancel_instance()
            await self._tell_parent()
            raise

    @property
    def _graph(self) -> Graph:
        """The graph the instance walks: its input's, carried across runs (an override may
        replace it with the class's current one)."""
        return self._input.graph

    @workflow.query(name=names.STATE)
    def state(self) -> WalkerState:
        return self._state

    @workflow.query(name=names.IDLE)
    def idle(self) -> bool:
        """Whether every open task waits on a human, a timer, a join or a rerun.

        Queries run only when every coroutine is blocked, so "no activity in flight" means each
        driver sits in a wait; False while the instance starts, works, changes or ends.
        """
        return bool(
            self._state.tasks
            and not self._in_flight
            and not self._draining
            and not self._overrides
            and not self._cancel_requests
        )

    @workflow.query(name=names.FOLLOWED)
    def followed(self, task_id: int) -> bool:
        """Whether what Django committed for ``task_id`` has been handled and the tasks that
        directly follow it are mirrored (Django waits for this: "synchronous bookkeeping")."""
        state = self._state
        if (
            self._draining
            or self._overrides
            or self._cancel_requests
            or task_id in self._confirming
            or task_id in state.completions
            or task_id in state.reruns
            or task_id in state.cancels
        ):
            return False
        for task in state.tasks.values():
            if task.id == task_id and task.phase in BUSY_PHASES:
                return False
            if task_id in task.parent_ids and task.id is None:
                return False
        return True

    @workflow.signal(name=names.COMPLETE_TASK)
    def complete_task(self, task_id: int) -> None:
        self._note(self._state.completions, task_id)

    @workflow.signal(name=names.RERUN_TASK)
    def rerun_task(self, task_id: int, reason: str = "") -> None:
        """``reason``: the user's comment, for the history (the Task row keeps it too)."""
        self._note(self._state.reruns, task_id)

    @workflow.signal(name=names.CANCEL_TASK)
    def cancel_task(self, task_id: int, reason: str = "") -> None:
        self._note(self._state.cancels, task_id)

    @workflow.signal(name=names.TASK_ASSIGNED)
    def task_assigned(self, assigned: TaskAssigned) -> None:
        self._queue_hook(
            HookCall(
                hook=ON_TASK_ASSIGNED, task_id=assigned.task_id, assignee_ids=assigned.assignee_ids
            )
        )

    @workflow.signal(name=names.CHILD_ENDED)
    def child_ended(self, ended: ChildEnded) -> None:
        for task in self._state.tasks.values():
            if task.id == ended.task_id and ended.pk not in task.children_ended:
                task.children_ended.append(ended.pk)

    @workflow.signal(name=names.EVENT_SENT)
    def event_sent(self, event: SentEvent) -> None:
        if event not in self._state.events:
            self._state.events.append(event)

    @workflow.signal(name=names.OVERRIDE)
    def override(self, request: OverrideRequest) -> None:
        self._overrides.append(request)

    @workflow.signal(name=names.CANCEL)
    def cancel(self, request: CancelRequest | None = None) -> None:
        self._cancel_requests.append(request)

    # Main loop helpers

    def _needs_attention(self) -> bool:
        return bool(
            self._fatal
            or self._cancel_requests
            or self._overrides
            or not self._state.tasks
            or self._history_is_long()
        )

    def _history_is_long(self) -> bool:
        if workflow.info().is_continue_as_new_suggested():
            return True
        if not self._one_activity_per_step:
            return False
        length = workflow.info().get_current_history_length()
        if length != self._history_length:
            self._history_length, self._markers_since = length, 0
        return length + self._markers_since >= RUN_HISTORY_LIMIT

    def _launch_all(self) -> None:
        for task in list(self._state.tasks.values()):
            self._launch(task)
        self._launch_hooks()

    def _launch(self, task: OpenTask) -> None:
        if not self._draining and task.key not in self._drivers:
            self._drivers[task.key] = asyncio.create_task(self._drive(task.key))

    async def _quiesce(self) -> None:
        """Let every driver reach a safe point: no activity in flight, state fully recorded."""
        self._draining = True
        await workflow.wait_condition(lambda: not self._drivers)

    def _resume(self) -> None:
        self._draining = False
        self._launch_all()

    def _next_run_input(self) -> WalkerInput:
        open_ids = {task.id for task in self._state.tasks.values()}
        state = self._state.model_copy(
            update={
                "run": self._state.run + 1,
                "completions": [i for i in self._state.completions if i in open_ids],
                "reruns": [i for i in self._state.reruns if i in open_ids],
                "cancels": [i for i in self._state.cancels if i in open_ids],
            }
        )
        return self._input.model_copy(update={"state": state})

    async def _cancel_committed(self) -> bool:
        """Whether one of the pending cancels was committed; the others are dropped."""
        while self._cancel_requests:
            request = self._cancel_requests.pop(0)
            if request is None or not workflow.patched(CONFIRM_INSTANCE_CANCEL):
                return True
            if await self._committed("Cancel", request.task_id, request.task_key):
                return True
        return False

    async def _cancel_instance(self) -> None:
        await self._quiesce()
        await self._cancel_children(*self._state.tasks.values())
        await self._mirror(
            names.CANCEL_TASKS,
            CancelTasks(workflow=self._input.workflow, task_ids=None),
        )
        self._state.tasks.clear()
        await self._mirror(names.FINISH_WORKFLOW, self._input.workflow)

    async def _apply_overrides(self) -> None:
        """Drop every open task and start the chosen ones after each committed override task.

        An override whose transaction never committed changes nothing: it is confirmed before
        anything is dropped (instances from before that fix replay the old order).
        """
        await self._quiesce()
        if workflow.patched(CONFIRM_OVERRIDE_FIRST):
            requests = await self._committed_overrides()
            if requests:
                await self._drop_open_tasks()
        else:
            await self._drop_open_tasks()
            requests = await self._committed_overrides()
        for request in requests:
            if request.graph is not None:
                self._input = self._input.model_copy(update={"graph": request.graph})
            override = OpenTask(
                key=f"override:{request.task_id}",
                name="override",
                phase=Phase.RUN,
                id=request.task_id,
            )
            self._spawn(override, [n for n in request.next_tasks if n in self._graph.nodes])
        self._resume()

    async def _committed_overrides(self) -> list[OverrideRequest]:
        committed = []
        while self._overrides:
            request = self._overrides.pop(0)
            if await self._committed("Override", request.task_id, request.task_key):
                committed.append(request)
        return committed

    async def _committed(self, action: str, task_id: int, key: str | None) -> bool:
        """Whether the Task row a manual action recorded (with that key) was committed."""
        ref = TaskRef(workflow=self._input.workflow, task_id=task_id)
        try:
            await self._confirm(ConfirmTask(task=ref, statuses=[TaskStatus.SUCCEEDED], key=key))
        except ActivityError:
            workflow.logger.warning("%s %s was never committed; ignored", action, task_id)
            return False
        return True

    async def _drop_open_tasks(self) -> None:
        await self._cancel_children(*self._state.tasks.values())
        dropped = [task.id for task in self._state.tasks.values() if task.id is not None]
        self._state.tasks.clear()
        if dropped:
            await self._mirror(
                names.CANCEL_TASKS,
                CancelTasks(workflow=self._input.workflow, task_ids=dropped),
            )

    # Drivers

    async def _drive(self, key: str) -> None:
        try:
            while not self._draining and key in self._state.tasks:
                task = self._state.tasks[key]
                if task.id is not None and task.id in self._state.cancels:
                    await self._confirm_cancel(task)
                else:
                    await self._step(task)
        except ActivityError as error:
            self._fatal = error.cause or error
        finally:
            del self._drivers[key]

    async def _step(self, task: OpenTask) -> None:
        match task.phase:
            case Phase.CONFIRM_START:
                await self._confirm_start(task)
            case Phase.CREATE:
                await self._create(task)
            case Phase.RUN:
                await self._run_machine_task(task)
            case Phase.POLL:
                if await self._wait(task, until=task.wake_at):
                    task.phase = Phase.RUN
            case Phase.WAIT:
                if await self._wait(task, until=task.wake_at):
                    await self._complete(task)
            case Phase.JOIN:
                if await self._wait(task, ready=lambda: self._joined(task)):
                    await self._complete(task)
            case Phase.HUMAN:
                completed = lambda: task.id in self._state.completions  # noqa: E731
                if await self._wait(task, ready=completed, until=human_deadline(task)):
                    if completed():
                        await self._confirm_human(task)
                    else:
                        await self._human_timer(task)
            case Phase.CHILDREN:
                await self._children(task)
            case Phase.EVENT:
                event = lambda: self._next_event(task)  # noqa: E731
                if await self._wait(task, ready=lambda: event() is not None):
                    await self._consume_event(task, event())
            case Phase.FAILED:
                if await self._wait(task, ready=lambda: task.id in self._state.reruns):
                    await self._confirm_rerun(task)

    async def _wait(
        self,
        task: OpenTask,
        ready: Callable[[], bool] = lambda: False,
        until: datetime | None = None,
    ) -> bool:
        """Wait for ``ready`` or the time ``until``; False when interrupted (drain or cancel)."""

        def interrupted() -> bool:
            return self._draining or task.id in self._state.cancels

        timeout = None
        if until is not None:
            timeout = (until - workflow.now()).total_seconds()
            if timeout <= 0:
                return True
        try:
            await workflow.wait_condition(lambda: ready() or interrupted(), timeout=timeout)
        except TimeoutError:
            return True
        return ready()

    async def _confirm_start(self, task: OpenTask) -> None:
        ref = TaskRef(workflow=self._input.workflow, task_id=task.row_id)
        confirm = ConfirmTask(
            task=ref, statuses=[TaskStatus.SUCCEEDED], key=self._input.start_task_key
        )
        try:
            await self._confirm(confirm)
        except ActivityError:
            workflow.logger.warning("Start task %s was never committed; nothing to do", task.id)
            del self._state.tasks[task.key]
            return
        self._advance(task, None)

    async def _create(self, task: OpenTask) -> None:
        node = self._graph.nodes[task.name]
        phase = PHASE_OF_KIND[node.kind]
        if phase == Phase.HUMAN and workflow.patched(HUMAN_TASK_MAY_FAIL):
            created = await self._mirror(
                names.CREATE_HUMAN_TASK,
                self._create_request(task, node.type),
                result_type=CreatedTask,
            )
            task.id = created.task_id
            task.phase = Phase.FAILED if created.status == TaskStatus.FAILED else phase
            if created.status == TaskStatus.SCHEDULED and self._has_human_work(node):
                if workflow.patched(HUMAN_WORK):
                    self._open_human(task, node, created)
            return
        if not (phase == Phase.RUN and self._one_activity_per_step):  # else: its first run does
            task.id = await self._mirror(
                names.CREATE_TASK, self._create_request(task, node.type), result_type=int
            )
        task.phase = phase

    def _create_request(
        self, task: OpenTask, type: TaskType, completed: bool = False
    ) -> CreateTask:
        return CreateTask(
            workflow=self._input.workflow,
            key=task.key,
            name=task.name,
            type=type,
            parent_ids=task.parent_ids,
            completed=completed,
        )

    async def _run_machine_task(self, task: OpenTask) -> None:
        config = self._input.config
        request = RunMachineTask(
            workflow=self._input.workflow,
            task_id=task.id,
            create=self._create_request(task, TaskType.MACHINE) if task.id is None else None,
            node_names=list(self._graph.nodes),
        )
        local = config.local_activities or self._graph.nodes[task.name].local_activity
        if local and self._one_activity_per_step:
            outcome = await self._local_activity(
                names.RUN_MACHINE_TASK,
                request,
                result_type=MachineOutcome,
                start_to_close_timeout=config.task_timeout,
                retry_policy=MIRROR_RETRY,
            )
        else:
            outcome = await self._activity(
                names.RUN_MACHINE_TASK,
                request,
                result_type=MachineOutcome,
                start_to_close_timeout=config.task_timeout,
                heartbeat_timeout=config.heartbeat_timeout,
                retry_policy=MIRROR_RETRY,
            )
        if outcome.task_id is not None:
            task.id = outcome.task_id
        match outcome.status:
            case TaskStatus.SUCCEEDED:
                self._advance(task, outcome.next_tasks)
            case "not_ready":
                backoff = config.poll_interval * 2 ** min(task.polls, MAX_DOUBLINGS)
                task.polls += 1
                task.wake_at = workflow.now() + min(backoff, config.poll_max_interval)
                task.phase = Phase.POLL
            case TaskStatus.FAILED:
                task.phase = Phase.FAILED
            case TaskStatus.CANCELED:
                del self._state.tasks[task.key]

    async def _complete(self, task: OpenTask) -> None:
        """Record a task the engine finishes itself (wait, join, start) as succeeded."""
        await self._mirror(
            names.CREATE_TASK,
            self._create_request(task, TaskType.MACHINE, completed=True),
            result_type=int,
        )
        self._advance(task, None)

    async def _confirm_human(self, task: OpenTask) -> None:
        status = await self._confirm_signal(
            task, self._state.completions, [TaskStatus.SUCCEEDED, TaskStatus.CANCELED]
        )
        if status == TaskStatus.SUCCEEDED:
            self._advance(task, None)
        elif status == TaskStatus.CANCELED:
            del self._state.tasks[task.key]

    async def _confirm_rerun(self, task: OpenTask) -> None:
        """Go on once the rerun is committed: a machine task runs again; a human task's rerun
        has made its row already (it opens, and may even be completed by now)."""
        node = self._graph.nodes.get(task.name)
        if node is not None and PHASE_OF_KIND[node.kind] == Phase.HUMAN:
            resume = Phase.HUMAN
            statuses = [TaskStatus.SCHEDULED, TaskStatus.SUCCEEDED, TaskStatus.CANCELED]
        elif node is not None and node.kind == NodeKind.SUBWORKFLOW:
            resume, statuses = Phase.CHILDREN, [TaskStatus.SCHEDULED, TaskStatus.CANCELED]
        else:
            resume, statuses = Phase.RUN, [TaskStatus.SCHEDULED, TaskStatus.CANCELED]
        status = await self._confirm_signal(task, self._state.reruns, statuses)
        if status == TaskStatus.CANCELED:
            del self._state.tasks[task.key]
        elif status is not None:
            task.phase, task.polls = resume, 0
            if status == TaskStatus.SCHEDULED and resume == Phase.HUMAN:
                await self._reopened_human(task)

    # Human work: due dates, reminders, hooks

    def _runs_hook(self, hook: str) -> bool:
        return self._input.config.notify_email or hook in self._graph.hooks

    def _has_human_work(self, node: Node) -> bool:
        """Whether a human task of ``node`` needs timers or hooks (``_open_human``)."""
        return bool(
            node.on_timeout in self._graph.nodes
            or (node.remind_every and self._runs_hook(ON_TASK_REMINDER))
            or self._runs_hook(ON_TASK_CREATED)
        )

    def _open_human(self, task: OpenTask, node: Node, created: CreatedTask) -> None:
        """Set a newly open human task's due and reminder timers, and have its
        ``on_task_created`` hook run."""
        if node.on_timeout in self._graph.nodes:
            task.due_at = created.due
        if node.remind_every and self._runs_hook(ON_TASK_REMINDER):
            task.remind_at = workflow.now() + node.remind_every
        if self._runs_hook(ON_TASK_CREATED):
            self._queue_hook(HookCall(hook=ON_TASK_CREATED, task_id=task.row_id))

    async def _reopened_human(self, task: OpenTask) -> None:
        """A human task whose failed row a rerun opened: read its due date (its hook ran
        again) and open it as a new one."""
        node = self._graph.nodes.get(task.name)
        if node is None or not self._has_human_work(node) or not workflow.patched(HUMAN_WORK):
            return
        created = await self._mirror(
            names.CREATE_HUMAN_TASK,
            self._create_request(task, node.type),
            result_type=CreatedTask,
        )
        if created.status == TaskStatus.SCHEDULED:
            self._open_human(task, node, created)

    async def _human_timer(self, task: OpenTask) -> None:
        """A human task's reminder or due timer fired: queue the reminder (and set the next
        one); at the due date, time the task out and start its ``on_timeout`` node."""
        node = self._graph.nodes[task.name]
        now = workflow.now()
        if task.remind_at is not None and task.remind_at <= now and node.remind_every:
            missed = (now - task.remind_at) // node.remind_every
            task.remind_at += node.remind_every * (missed + 1)
            self._queue_hook(HookCall(hook=ON_TASK_REMINDER, task_id=task.row_id))
        if task.due_at is not None and task.due_at <= now and node.on_timeout:
            ref = TaskRef(workflow=self._input.workflow, task_id=task.row_id)
            result = await self._mirror(
                names.TIME_OUT_TASK,
                TimeOut(task=ref, on_timeout=node.on_timeout),
                result_type=TimedOut,
            )
            task.due_at = result.due
            if result.timed_out:
                self._advance(task, [node.on_timeout])

    def _queue_hook(self, call: HookCall) -> None:
        """Have a hook run (once, however often it is asked for while it waits)."""
        if self._runs_hook(call.hook) and call not in self._state.hooks:
            self._state.hooks.append(call)
            self._launch_hooks()

    def _launch_hooks(self) -> None:
        if self._state.hooks and not self._draining and HOOKS_DRIVER not in self._drivers:
            self._drivers[HOOKS_DRIVER] = asyncio.create_task(self._run_hooks())

    async def _run_hooks(self) -> None:
        """Run the queued hooks, those queued together at once; each leaves the queue when it
        has run (or was given up on), so a continue-as-new carries the rest."""
        try:
            while self._state.hooks and not self._draining:
                calls = list(self._state.hooks)
                await asyncio.gather(*(self._run_hook(call) for call in calls))
                self._state.hooks = [c for c in self._state.hooks if c not in calls]
        finally:
            del self._drivers[HOOKS_DRIVER]

    async def _run_hook(self, call: HookCall) -> None:
        ref = TaskRef(workflow=self._input.workflow, task_id=call.task_id)
        try:
            await self._activity(
                names.RUN_HOOK,
                RunHook(task=ref, hook=call.hook, assignee_ids=call.assignee_ids),
                start_to_close_timeout=HOOK_TIMEOUT,
                heartbeat_timeout=self._input.config.heartbeat_timeout,
                retry_policy=HOOK_RETRY,
            )
        except ActivityError as error:
            workflow.logger.error(
                "%s of task %s given up after retries: %s", call.hook, call.task_id, error.cause
            )

    async def _confirm_cancel(self, task: OpenTask) -> None:
        if await self._confirm_signal(task, self._state.cancels, [TaskStatus.CANCELED]):
            await self._cancel_children(task)  # before the instance may end without it
            del self._state.tasks[task.key]

    async def _confirm_signal(
        self, task: OpenTask, signals: list[int], statuses: list[TaskStatus]
    ) -> TaskStatus | None:
        """Wait until the commit a signal announced is visible; None if it never became so."""
        signals.remove(task.row_id)
        self._confirming.add(task.row_id)
        ref = TaskRef(workflow=self._input.workflow, task_id=task.row_id)
        try:
            return await self._confirm(ConfirmTask(task=ref, statuses=statuses))
        except ActivityError:
            workflow.logger.warning("Signal for task %s not backed by a commit; ignored", task.id)
            return None
        finally:
            self._confirming.discard(task.id)

    async def _confirm(self, confirm: ConfirmTask) -> TaskStatus:
        config = self._input.config
        if not workflow.patched(CONFIRM_WHILE_RUNNING):
            return await self._activity(
                names.CONFIRM_TASK,
                confirm,
                result_type=TaskStatus,
                start_to_close_timeout=MIRROR_TIMEOUT,
                schedule_to_close_timeout=config.confirm_timeout,
                retry_policy=CONFIRM_RETRY,
            )
        return await self._activity(
            names.CONFIRM_TASK,
            confirm.model_copy(update={"wait": config.confirm_timeout}),
            result_type=TaskStatus,
            start_to_close_timeout=config.confirm_timeout + MIRROR_TIMEOUT,
            heartbeat_timeout=config.heartbeat_timeout,
            retry_policy=MIRROR_RETRY,
        )

    # Process structure: subworkflows and events

    async def _children(self, task: OpenTask) -> None:
        """Create the task's child instances (once), start them in batches as child workflows,
        and finish the task when every one has ended (each says so: ``child_ended``).

        Children are abandoned by Temporal when this run closes (they outlive a continue-as-new)
        and canceled by the walker itself with the task or the instance (``_cancel_children``).
        """
        total = task.children_total
        if total is None or len(task.children) < total:
            running = lambda: len(task.children) - len(task.children_ended)  # noqa: E731
            room = lambda: running() + CHILD_BATCH <= MAX_PENDING_CHILDREN  # noqa: E731
            if total is not None and not await self._wait(task, ready=room):
                return
            await self._start_children(task)
            return
        if await self._wait(task, ready=lambda: len(set(task.children_ended)) >= total):
            await self._complete(task)

    async def _start_children(self, task: OpenTask) -> None:
        node = self._graph.nodes[task.name]
        ref = TaskRef(workflow=self._input.workflow, task_id=task.row_id)
        batch = await self._activity(
            names.CREATE_CHILDREN,
            CreateChildren(task=ref, offset=len(task.children), limit=CHILD_BATCH),
            result_type=CreatedChildren,
            start_to_close_timeout=self._input.config.task_timeout,
            heartbeat_timeout=self._input.config.heartbeat_timeout,
            retry_policy=MIRROR_RETRY,
        )
        if batch.status == TaskStatus.FAILED:
            task.phase = Phase.FAILED
            return
        if batch.status == TaskStatus.CANCELED:
            del self._state.tasks[task.key]
            return
        task.children_total = batch.total
        self._in_flight += 1
        try:
            await asyncio.gather(
                *(self._start_child(task, node, batch, child) for child in batch.children)
            )
        finally:
            self._in_flight -= 1

    async def _start_child(
        self, task: OpenTask, node: Node, batch: CreatedChildren, child: ChildStart
    ) -> None:
        label = node.subworkflow or ""
        child_input = WalkerInput(
            graph=batch.graph or self._graph,
            workflow=WorkflowRef(label=label, pk=child.pk),
            start_task_id=child.start_task_id,
            start_node=batch.start_node,
            start_task_key=child.start_task_key,
            config=self._input.config,
            parent=ParentRef(workflow_id=workflow.info().workflow_id, task_id=task.row_id),
        )
        try:
            await workflow.start_child_workflow(
                names.WORKFLOW_TYPE,
                child_input,
                id=names.workflow_id(label, child.pk),
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(CHILD_SEARCH_ATTRIBUTE, label)]
                ),
            )
        except WorkflowAlreadyStartedError as error:
            self._fatal = error  # another database's instance has the id: say so, loudly
            return
        task.children.append(child.pk)

    async def _cancel_children(self, *tasks: OpenTask) -> None:
        """Ask the child instances of these subworkflow tasks that have not ended to cancel."""
        ids = [
            names.workflow_id(self._graph.nodes[task.name].subworkflow or "", pk)
            for task in tasks
            if task.name in self._graph.nodes
            for pk in task.children
            if pk not in task.children_ended
        ]
        if ids:
            await asyncio.gather(*(self._cancel_child(id) for id in ids))

    async def _cancel_child(self, workflow_id: str) -> None:
        try:
            await workflow.get_external_workflow_handle(workflow_id).cancel()
        except FailureError:
            pass  # it ended meanwhile

    async def _tell_parent(self) -> None:
        """A child instance tells its parent's subworkflow task that it has ended."""
        parent = self._input.parent
        if parent is None:
            return
        ended = ChildEnded(task_id=parent.task_id, pk=self._input.workflow.pk)
        try:
            await workflow.get_external_workflow_handle(parent.workflow_id).signal(
                names.CHILD_ENDED, ended
            )
        except FailureError:
            workflow.logger.info("Parent %s has ended; not told", parent.workflow_id)

    def _next_event(self, task: OpenTask) -> SentEvent | None:
        name = self._graph.nodes[task.name].event
        return next((event for event in self._state.events if event.name == name), None)

    async def _consume_event(self, task: OpenTask, event: SentEvent | None) -> None:
        """Take the event (it leaves the buffer) and finish the task with it once the event's
        commit is visible; an event never committed is dropped and the task waits on."""
        if event is None:
            return
        self._state.events.remove(event)
        ref = TaskRef(workflow=self._input.workflow, task_id=task.row_id)
        config = self._input.config
        try:
            status = await self._activity(
                names.CONSUME_EVENT,
                ConsumeEvent(task=ref, event_id=event.event_id, wait=config.confirm_timeout),
                result_type=TaskStatus,
                start_to_close_timeout=config.confirm_timeout + MIRROR_TIMEOUT,
                heartbeat_timeout=config.heartbeat_timeout,
                retry_policy=MIRROR_RETRY,
            )
        except ActivityError:
            workflow.logger.warning("Event %s was never committed; ignored", event.event_id)
            return
        if status == TaskStatus.SUCCEEDED:
            self._advance(task, None)
        elif status == TaskStatus.CANCELED:
            del self._state.tasks[task.key]

    # State transitions (synchronous: no await between reading and writing the state)

    def _joined(self, task: OpenTask) -> bool:
        return set(self._graph.join_parents(task.name)) <= set(task.arrived)

    def _advance(self, task: OpenTask, next_tasks: list[str] | None) -> None:
        """Close ``task`` and open what follows it: all children, or the ones the method chose."""
        del self._state.tasks[task.key]
        self._state.steps += 1
        self._spawn(task, self._graph.children(task.name) if next_tasks is None else next_tasks)

    def _spawn(self, parent: OpenTask, next_names: list[str]) -> None:
        for name in next_names:
            node = self._graph.nodes[name]
            if node.kind == NodeKind.JOIN and self._arrive_at_join(name, parent):
                continue
            child = OpenTask(
                key=f"{parent.row_id}:{name}",
                name=name,
                phase=Phase.CREATE,
                parent_ids=[parent.row_id],
                arrived=[parent.name] if node.kind == NodeKind.JOIN else [],
                wake_at=workflow.now() + node.wait if node.wait is not None else None,
            )
            self._state.tasks[child.key] = child
            self._launch(child)

    def _arrive_at_join(self, name: str, parent: OpenTask) -> bool:
        for task in self._state.tasks.values():
            if task.name == name and parent.name not in task.arrived:
                task.arrived.append(parent.name)
                task.parent_ids.append(parent.row_id)
                return True
        return False

    # Activities

    async def _mirror(self, activity: str, arg: object, result_type: type | None = None):
        """A short, idempotent write to the mirror: a local activity, saving a round trip."""
        execute = self._local_activity if self._one_activity_per_step else self._activity
        return await execute(
            activity,
            arg,
            result_type=result_type,
            start_to_close_timeout=MIRROR_TIMEOUT,
            retry_policy=MIRROR_RETRY,
        )

    async def _activity(self, activity: str, arg: object, **options):
        self._in_flight += 1
        try:
            return await workflow.execute_activity(activity, arg, **options)
        finally:
            self._in_flight -= 1

    async def _local_activity(self, activity: str, arg: object, **options):
        self._in_flight += 1
        try:
            return await workflow.execute_local_activity(activity, arg, **options)
        finally:
            self._in_flight -= 1
            self._markers_since += 1

    @staticmethod
    def _note(signals: list[int], task_id: int) -> None:
        if task_id not in signals:
            signals.append(task_id)


def human_deadline(task: OpenTask) -> datetime | None:
    """When a human task's next timer fires: its reminder or its due date, whichever first."""
    times = [t for t in (task.remind_at, task.due_at) if t is not None]
    return min(times) if times else None
