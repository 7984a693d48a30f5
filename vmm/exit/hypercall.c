/*
 * Hypercalls: VMCALL at CPL 0 with the call number in RAX and arguments in
 * RBX, RCX, RDX; the result (or -errno) comes back in RAX. The ABI is
 * docs/hypercalls.md; CPUID leaf 0x40000001 gives its version.
 *
 * HC_SET_TIMER is a one-shot host timer whose expiry is a fixed, edge
 * interrupt to the calling vCPU's own local APIC: it is delivered, held off
 * by TPR/PPR and retired by EOI like any other LAPIC interrupt.
 * HC_VCPU_START starts another vCPU of the VM, waiting for a start-up
 * IPI, in the multiboot start state at the given EIP and ESP.
 */
#include <errno.h>
#include <vmkernel/cpu.h>
#include <vmkernel/sched.h>
#include <vmkernel/timer.h>
#include <vmm/virq.h>
#include <vmm/vlapic.h>
#include <vmm/vmx.h>
#include "exit_priv.h"

enum {
	HC_VERSION = 0, HC_CONSOLE_WRITE = 1, HC_EXIT = 2, HC_VCPU_ID = 3, HC_SET_TIMER = 4,
	HC_VCPU_START = 5,
};
#define HC_CONSOLE_MAX 4096
#define HC_TIMER_MAX_US (3600ULL * 1000000)

static int64_t hc_console_write(struct vcpu *v, uint64_t gpa, uint64_t len)
{
	char buf[256];

	if (len > HC_CONSOLE_MAX)
		return -EINVAL;
	if (!guest_range_is_ram(v->vm, gpa, len))
		return -EFAULT;
	for (uint64_t done = 0; done < len;) {
		size_t n = len - done < sizeof(buf) ? len - done : sizeof(buf);

		if (guest_read(v->vm, gpa + done, buf, n))
			return -EFAULT;
		vm_console_write(v->vm, buf, n);
		done += n;
		/* A long write is the guest's time: others that wait for this CPU go first. */
		if (sched_should_yield())
			sched_yield();
	}
	return (int64_t)len;
}

/* The HC_SET_TIMER expiry (host interrupt context, on the vCPU's CPU). */
void hc_timer_expired(struct ktimer *t)
{
	struct vcpu *v = (struct vcpu *)((char *)t - offsetof(struct vcpu, hc_timer));
	uint64_t due = __atomic_load_n(&v->hc_timer_deadline, __ATOMIC_ACQUIRE);
	struct apic_msg m = { .delivery = APIC_DM_FIXED, .vector = v->hc_timer_vector };

	/* Cancelled or re-armed since: a stale expiry does nothing. */
	if (!due || rdtsc() < due ||
	    !__atomic_compare_exchange_n(&v->hc_timer_deadline, &due, 0, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return;
	vlapic_accept(&v->lapic, &m);
}

static int64_t hc_set_timer(struct vcpu *v, uint64_t vector, uint64_t us)
{
	uint64_t deadline;

	if (us == 0) {
		__atomic_store_n(&v->hc_timer_deadline, 0, __ATOMIC_RELEASE);
		ktimer_cancel(&v->hc_timer);
		return 0;
	}
	if (vector < 32 || vector > 255 || us > HC_TIMER_MAX_US)
		return -EINVAL;
	deadline = rdtsc() + us * (tsc_hz() / 1000000);
	v->hc_timer_vector = (uint8_t)vector;
	__atomic_store_n(&v->hc_timer_deadline, deadline, __ATOMIC_RELEASE);
	ktimer_arm(&v->hc_timer, deadline);
	return 0;
}

/* Start another vCPU of this VM in the multiboot start state at eip, with esp. */
static int64_t hc_vcpu_start(struct vcpu *v, uint64_t index, uint64_t eip, uint64_t esp)
{
	struct vm *vm = v->vm;
	struct vcpu *t;
	bool expected = false;

	if (index >= vm->nvcpus || index == v->id || (eip >> 32) || (esp >> 32) ||
	    !guest_is_ram(vm, eip))
		return -EINVAL;
	t = vm->vcpus[index];
	if (__atomic_load_n(&t->lapic.run_state, __ATOMIC_ACQUIRE) != VLAPIC_WAIT_SIPI ||
	    __atomic_load_n(&t->lapic.sipi_pending, __ATOMIC_ACQUIRE))
		return -EBUSY;
	t->boot = (struct vcpu_boot){
		.mode = VCPU_MODE_PROT32, .rip = eip, .rsp = esp, .code_sel = 0x08, .data_sel = 0x10,
	};
	if (!__atomic_compare_exchange_n(&t->boot_pending, &expected, true, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return -EBUSY;
	vcpu_kick(t);
	return 0;
}

static unsigned guest_cpl(void)
{
	return (vmcs_read32(VMCS_GUEST_SS_AR) >> 5) & 3;
}

enum exit_action handle_vmcall(struct vcpu *v)
{
	struct vcpu_regs *r = &v->regs;
	int64_t ret;

	if (guest_cpl() != 0) {
		r->rax = (uint64_t)-EPERM;
		return EXIT_SKIP;
	}
	switch (r->rax) {
	case HC_VERSION:
		ret = HC_ABI_VERSION;
		break;
	case HC_CONSOLE_WRITE:
		ret = hc_console_write(v, r->rbx, r->rcx);
		break;
	case HC_EXIT:
		vm_exit(v->vm, (int)(r->rbx & 0xff), "vCPU %u: HC_EXIT", v->id);
		return EXIT_STOP_VM;
	case HC_VCPU_ID:
		ret = v->id;
		break;
	case HC_SET_TIMER:
		ret = hc_set_timer(v, r->rbx, r->rcx);
		break;
	case HC_VCPU_START:
		ret = hc_vcpu_start(v, r->rbx, r->rcx, r->rdx);
		break;
	default:
		ret = -38;	/* ENOSYS */
	}
	r->rax = (uint64_t)ret;
	return EXIT_SKIP;
}
