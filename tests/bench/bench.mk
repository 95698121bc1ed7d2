# Benchmarks: tests/bench/run (never run by make check: timings are not test assertions) and
# one smoke test that is: the runner with --smoke, which asserts only that every row produced
# numbers. The rusage helper is built with the tests so that the smoke test has it.
check_PROGRAMS += tests/bench/rusage
tests_bench_rusage_SOURCES = tests/bench/rusage.c

TESTS += tests/bench/test_bench_smoke.py

EXTRA_DIST += \
	tests/bench/README.md \
	tests/bench/run \
	tests/bench/benchlib.py \
	tests/bench/fast_aws.py \
	tests/bench/stall_writer.py \
	tests/bench/zeo_pack_client.py \
	tests/bench/profile_run_all.sh \
	tests/bench/test_bench_smoke.py \
	tests/bench/rows/__init__.py \
	tests/bench/rows/ebs_night.py \
	tests/bench/rows/retention.py \
	tests/bench/rows/logrotate_big.py \
	tests/bench/rows/copytruncate.py \
	tests/bench/rows/small_logs.py \
	tests/bench/rows/zodb_pack.py \
	tests/bench/rows/report_spool.py \
	tests/bench/rows/startup.py \
	tests/bench/rows/fleet.py \
	tests/bench/fleet/README.md \
	tests/bench/fleet/fleet.py \
	tests/bench/fleet/fleet_ec2.py \
	tests/bench/rows/log_shipper.py \
	tests/bench/logs/README.md \
	tests/bench/logs/run.sh \
	tests/bench/logs/fast_logs.py \
	tests/bench/logs/stamped_writer.py \
	tests/bench/rows/profile_run_all.py \
	tests/bench/ebs_snapshots/compare.py \
	tests/bench/ebs_snapshots/night.sh \
	tests/bench/ebs_snapshots/README.md \
	tests/bench/logrotate/genlog.py \
	tests/bench/logrotate/run.sh \
	tests/bench/logrotate/README.md \
	tests/bench/libs_floor.c \
	tests/bench/aws_bench.py \
	tests/bench/bench_zodb_pack.py
