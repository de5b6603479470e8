import pytest
from conftest import FakeFarm

from polyglot_addon import FarmClient, FarmError, Job, JobSpec, SpecError

pytestmark = pytest.mark.api


def test_health(fake_farm: FakeFarm) -> None:
    assert FarmClient(fake_farm.url + "/").health() == {"status": "ok", "version": "fake"}


def test_submit_then_list(fake_farm: FakeFarm) -> None:
    client = FarmClient(fake_farm.url)
    job = client.submit(JobSpec("hero", "shot010.usd", 1, 24, priority=80))
    assert job == Job(1, "hero", "shot010.usd", 1, 24, 80, "queued")
    assert client.list_jobs() == [job]
    assert client.get(1) == job


def test_list_by_status(fake_farm: FakeFarm) -> None:
    fake_farm.add(name="a", scene="a.usd", frame_start=1, frame_end=2)
    fake_farm.add(name="b", scene="b.usd", frame_start=1, frame_end=2, status="done")
    done = FarmClient(fake_farm.url).list_jobs(status="done")
    assert [j.name for j in done] == ["b"]
    assert fake_farm.requests[-1] == ("GET", "/api/jobs?status=done")


def test_cancel(fake_farm: FakeFarm) -> None:
    fake_farm.add(name="a", scene="a.usd", frame_start=1, frame_end=2)
    assert FarmClient(fake_farm.url).cancel(1).status == "cancelled"


def test_invalid_spec_is_not_sent(fake_farm: FakeFarm) -> None:
    with pytest.raises(SpecError):
        FarmClient(fake_farm.url).submit(JobSpec("", "s.usd", 1, 2))
    assert fake_farm.requests == []


def test_server_errors_carry_status_and_message(fake_farm: FakeFarm) -> None:
    client = FarmClient(fake_farm.url)
    with pytest.raises(FarmError) as caught:
        client.submit(JobSpec("a", "reject.usd", 1, 2))
    assert caught.value.status == 422
    assert str(caught.value) == "422: invalid job: scene is rejected"
    with pytest.raises(FarmError, match="404: job not found: 9"):
        client.get(9)


def test_unreachable_server() -> None:
    # Port 9 (discard) on localhost is closed on any sane test machine.
    with pytest.raises(FarmError, match="cannot reach") as caught:
        FarmClient("http://127.0.0.1:9", timeout=2).health()
    assert caught.value.status == 0
