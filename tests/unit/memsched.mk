# Ballooning: the balloon device's request checks, and the memory scheduler's targets.
UNIT_TESTS += test_balloon
test_balloon_SRCS := tests/unit/test_balloon.c vmm/vdev/virtio/balloon_req.c
UNIT_TESTS += test_memsched
test_memsched_SRCS := tests/unit/test_memsched.c vmm/mem/memsched_policy.c
