# The host's switch and port group configuration (net.conf).
UNIT_TESTS += test_netconf
test_netconf_SRCS := tests/unit/test_netconf.c drivers/net/netconf.c
