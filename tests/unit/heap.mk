UNIT_TESTS += test_heap
test_heap_SRCS := tests/unit/test_heap.c vmkernel/mm/heap.c
