"""The cassette of a chat a test was drafted from (src/flowai_harness/studio/cassettes.py and
``GET .../tests/{id}/cassette``): the thread's runs cut out of the recording runtime's
cassette, and they replay offline."""

from __future__ import annotations

import asyncio
from pathlib import Path

from flowai_harness import create_runtime
from flowai_harness.studio import define_app
from flowai_harness.testing import ScriptedModel, assert_replays

from .studio_apps import chat_app, chat_spec, respond, studio_client

W = "/api/workspaces/default"


def test_a_test_from_a_recorded_chat_gives_its_cassette_which_replays(tmp_path: Path) -> None:
    spec = chat_spec()
    recording = tmp_path / "runtime.jsonl"
    app = define_app(
        name="recording",
        runtime_spec=spec,
        runtime_factory=lambda: create_runtime(
            spec, interpreter=ScriptedModel(respond=respond), record=recording
        ),
    )
    with studio_client(app) as client:
        for thread, prompt in (("thread_a", "hello"), ("thread_b", "say hi"), ("thread_a", "more")):
            body = {"prompt": prompt, "threadId": thread}
            assert client.post(f"{W}/agents/helper/stream", json=body).status_code == 200
        test = client.post(f"{W}/tests/from-chat", json={"threadId": "thread_a"}).json()["test"]
        answer = client.get(f"{W}/tests/{test['id']}/cassette").json()
    assert (answer["threadId"], answer["runs"], answer["available"]) == ("thread_a", 2, True)
    cassette = tmp_path / "chat.jsonl"
    cassette.write_text(answer["cassette"])
    assert "say hi" not in answer["cassette"]  # the other thread's run is left out
    # the chat's runs replay offline, request for request
    replayed = asyncio.run(
        assert_replays(lambda model: create_runtime(spec, interpreter=model), cassette)
    )
    assert len(replayed) == 2


def test_without_a_recording_runtime_the_cassette_says_how_to_get_one() -> None:
    with studio_client(chat_app()) as client:
        client.post(f"{W}/agents/helper/stream", json={"prompt": "hi", "threadId": "thread_x"})
        test = client.post(f"{W}/tests/from-chat", json={"threadId": "thread_x"}).json()["test"]
        missing = client.get(f"{W}/tests/{test['id']}/cassette").json()
        plain = client.post(f"{W}/tests", json={"id": "plain", "input": "x"})
        not_from_chat = client.get(f"{W}/tests/plain/cassette").json()
        unknown = client.get(f"{W}/tests/ghost/cassette")
    assert plain.status_code in (200, 201)
    assert (missing["available"], missing["runs"], missing["cassette"]) == (False, 0, "")
    assert "create_runtime(..., record='<file>.jsonl')" in missing["reason"]
    assert not_from_chat["reason"] == (
        "Test `plain` was not drafted from a chat, so it has no cassette."
    )
    assert unknown.status_code == 404
