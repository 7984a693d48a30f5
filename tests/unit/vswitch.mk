UNIT_TESTS += test_vswitch
test_vswitch_SRCS := tests/unit/test_vswitch.c drivers/net/vswitch.c drivers/net/vswitch_fdb.c \
	drivers/net/vswitch_frame.c
