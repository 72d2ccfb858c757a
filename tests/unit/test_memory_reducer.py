"""The memory reducer: append, retract a failed or speculative turn, correct an interrupted one."""

from backend.agents.conversation import _append_capped


def msgs(*pairs: tuple[str, float]) -> list[dict]:
    return [{"role": role, "content": f"{role}@{ts}", "ts": ts} for role, ts in pairs]


def test_append() -> None:
    assert _append_capped(msgs(("user", 1)), msgs(("assistant", 2))) == msgs(("user", 1), ("assistant", 2))


def test_drop_since_retracts_a_turn() -> None:
    history = msgs(("user", 1), ("assistant", 2), ("user", 3), ("assistant", 4))
    assert _append_capped(history, [{"drop_since": 3}]) == msgs(("user", 1), ("assistant", 2))


def test_interruption_replaces_only_its_own_turns_reply() -> None:
    history = msgs(("user", 1), ("assistant", 2), ("user", 3), ("assistant", 4))
    heard = {"role": "assistant", "content": "Half", "ts": 5, "interrupted": True, "replaces_since": 3}
    out = _append_capped(history, [heard])
    assert out[:3] == history[:3] and out[3]["content"] == "Half" and "replaces_since" not in out[3]


def test_interruption_before_the_reply_was_stored_appends() -> None:
    history = msgs(("user", 1), ("assistant", 2), ("user", 3))
    heard = {"role": "assistant", "content": "", "ts": 5, "replaces_since": 3}
    assert _append_capped(history, [heard])[-1]["content"] == ""
    assert len(_append_capped(history, [heard])) == 4


def test_interruption_of_a_turn_that_never_reached_memory_changes_nothing() -> None:
    history = msgs(("user", 1), ("assistant", 2))
    heard = {"role": "assistant", "content": "x", "ts": 9, "replaces_since": 5}
    assert _append_capped(history, [heard]) == history  # the previous reply is not overwritten


def test_a_timestamp_read_back_a_few_ulps_early_still_belongs_to_its_turn() -> None:
    """RedisJSON can return a stored time.time() a few ulps off (seen in CI: a failed turn's question
    stayed in memory); a message stored at `since` is still "at or after" it."""
    since = 1796238117.7037983
    stored = since - 3 * 2.4e-7  # what came back from Redis
    history = [
        {"role": "assistant", "content": "before", "ts": since - 5},
        {"role": "user", "content": "Hi", "ts": stored},
    ]
    assert _append_capped(history, [{"drop_since": since}]) == history[:1]
    heard = {"role": "assistant", "content": "He", "ts": since + 1, "replaces_since": since}
    replaced = _append_capped([*history, {"role": "assistant", "content": "Hello", "ts": stored}], [heard])
    assert [m["content"] for m in replaced] == ["before", "Hi", "He"]
