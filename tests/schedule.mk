# tests/schedule.mk: the schedule model and split (policy/schedule.c)
if HAVE_CMOCKA
check_PROGRAMS += tests/test_schedule
TESTS += tests/test_schedule
tests_test_schedule_SOURCES = tests/test_schedule.c
tests_test_schedule_CFLAGS = $(TEST_CFLAGS)
tests_test_schedule_LDADD = $(TEST_LIBS)
endif
