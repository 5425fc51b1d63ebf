# tests/schedule.mk: the schedule model and split (policy/schedule.c)
if HAVE_CMOCKA
check_PROGRAMS += tests/test_schedule
TESTS += tests/test_schedule
tests_test_schedule_SOURCES = tests/test_schedule.c
tests_test_schedule_CFLAGS = $(TEST_CFLAGS)
tests_test_schedule_LDADD = $(TEST_LIBS)
endif
# plan's schedule, advice and --picture end to end; the picture rendered
# in headless Chromium (skipped where it is not installed).
TESTS += tests/plan-schedule.sh tests/picture-render.sh
EXTRA_DIST += tests/plan-schedule.sh tests/picture-render.sh \
	examples/plan-builtin.svg
