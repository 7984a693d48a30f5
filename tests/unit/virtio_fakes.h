/*
 * What the virtio device models need from the vmkernel, faked for host
 * tests (tests/unit/virtio_fakes.c): mutexes that check they are not
 * taken twice, a world that is created but never runs (the test calls
 * the device's process hook itself), wake-ups that are counted, and
 * guest_range_is_ram() over vdev_fakes.c's fake RAM.
 */
#ifndef VIRTIO_FAKES_H
#define VIRTIO_FAKES_H

#include <vmkernel/sched.h>

extern struct world fake_world;
extern unsigned worlds_created, wakeups;

#endif
