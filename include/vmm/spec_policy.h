/*
 * Speculative-execution policy: which mitigations a CPU needs between
 * guests and the host, decided from what the CPU enumerates (CPUID leaf 7,
 * IA32_ARCH_CAPABILITIES, family/model) and the administrator's choices on
 * the kernel command line. Pure logic (vmm/vmx/spec_policy.c), unit-tested
 * against the enumerations of real CPUs; vmm/vmx/spec.c applies it.
 *
 * The three choices, as Xen and KVM offer them:
 *  - spec.l1d_flush=never|cond|always|auto   L1 data-cache flush before VM
 *    entry (L1TF): cond flushes when the host ran other code since the last
 *    entry on that CPU (another VM, an interrupt, a non-trivial exit);
 *    auto = cond where the CPU is affected, never where it is not.
 *  - spec.smt=allow|isolate|auto   vCPUs of different VMs on sibling
 *    hyperthreads: isolate never places them so; auto = isolate where the
 *    CPU is affected by L1TF or MDS and has SMT.
 *  - spec.v2=eibrs|ibrs|retpoline|auto   guest-to-host branch-target
 *    injection: enhanced IBRS set once, IBRS set on every exit (legacy), or
 *    only the retpolines the vmkernel is compiled with; auto picks eIBRS
 *    where enumerated, IBRS where retpolines are not enough (RSBA, the
 *    Skylake generation), retpolines otherwise.
 */
#ifndef VMM_SPEC_POLICY_H
#define VMM_SPEC_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CPUID.(EAX=7,ECX=0):EDX */
#define SPEC_CPUID7_MD_CLEAR		(1U << 10)
#define SPEC_CPUID7_SPEC_CTRL		(1U << 26)	/* IBRS and IBPB */
#define SPEC_CPUID7_STIBP		(1U << 27)
#define SPEC_CPUID7_L1D_FLUSH		(1U << 28)
#define SPEC_CPUID7_ARCH_CAPS		(1U << 29)
#define SPEC_CPUID7_SSBD		(1U << 31)
/* IA32_SPEC_CTRL (MSR 0x48) bits */
#define SPEC_CTRL_IBRS			(1ULL << 0)
#define SPEC_CTRL_STIBP			(1ULL << 1)
#define SPEC_CTRL_SSBD			(1ULL << 2)
/* IA32_ARCH_CAPABILITIES (MSR 0x10a) */
#define SPEC_ARCH_RDCL_NO		(1ULL << 0)
#define SPEC_ARCH_IBRS_ALL		(1ULL << 1)	/* enhanced IBRS */
#define SPEC_ARCH_RSBA			(1ULL << 2)	/* RSB underflow uses the BTB */
#define SPEC_ARCH_SKIP_L1DFL_VMENTRY	(1ULL << 3)
#define SPEC_ARCH_SSB_NO		(1ULL << 4)
#define SPEC_ARCH_MDS_NO		(1ULL << 5)

enum spec_vendor { SPEC_INTEL, SPEC_AMD, SPEC_OTHER };
enum spec_l1d { SPEC_L1D_NEVER, SPEC_L1D_COND, SPEC_L1D_ALWAYS, SPEC_L1D_AUTO };
enum spec_smt { SPEC_SMT_ALLOW, SPEC_SMT_ISOLATE, SPEC_SMT_AUTO };
enum spec_v2 { SPEC_V2_NONE, SPEC_V2_RETPOLINE, SPEC_V2_IBRS, SPEC_V2_EIBRS, SPEC_V2_AUTO };

/* What the CPU says about itself. */
struct spec_cpu {
	enum spec_vendor vendor;
	unsigned family, model, stepping;	/* display family/model */
	uint32_t cpuid7_edx;
	uint64_t arch_caps;			/* 0 unless SPEC_CPUID7_ARCH_CAPS */
	bool smt;				/* more than one thread per core */
	bool hypervisor;			/* CPUID.1:ECX[31]: we run nested */
};

/* What the administrator asked for (AUTO where nothing was said). */
struct spec_choice {
	enum spec_l1d l1d;
	enum spec_smt smt;
	enum spec_v2 v2;
};

/* The decision. */
struct spec_policy {
	bool l1tf, mds, v2_rsba;		/* the CPU is affected */
	enum spec_l1d l1d;			/* NEVER, COND or ALWAYS */
	bool l1d_flush_msr;			/* IA32_FLUSH_CMD exists */
	enum spec_smt smt;			/* ALLOW or ISOLATE */
	enum spec_v2 v2;			/* NONE, RETPOLINE, IBRS or EIBRS */
	bool ibpb;				/* IBPB when a CPU switches VM */
	bool verw;				/* VERW before entry (MDS) */
	/*
	 * Guests' own IA32_SPEC_CTRL: the CPUID.7.EDX bits offered (IBRS/IBPB,
	 * STIBP, SSBD, each only where the host has it), the MSR bits a guest
	 * may set, and what the MSR holds while the host runs and, with a
	 * guest value of 0, while a guest runs (IBRS stays on under eIBRS).
	 */
	uint32_t guest_cpuid7_edx;
	uint64_t guest_spec_ctrl_mask;
	uint64_t host_spec_ctrl, guest_spec_ctrl_base;
	char why[320];				/* where the choice and the CPU disagree */
};

/* Parse one option's value; -EINVAL for an unknown word. */
int spec_parse_l1d(const char *s, enum spec_l1d *out);
int spec_parse_smt(const char *s, enum spec_smt *out);
int spec_parse_v2(const char *s, enum spec_v2 *out);

void spec_decide(const struct spec_cpu *cpu, const struct spec_choice *choice,
		 struct spec_policy *out);

/* "cond", "isolate", "eIBRS", ... for the boot log. */
const char *spec_l1d_name(enum spec_l1d v);
const char *spec_smt_name(enum spec_smt v);
const char *spec_v2_name(enum spec_v2 v);

/*
 * L1D flush "cond": may this exit reason go back to the guest without a
 * flush? Only exits whose handling touches no data but the vCPU's own
 * registers (CPUID, HLT's wake-up, preemption timer, the windows, PAUSE...).
 */
bool spec_exit_is_l1d_safe(unsigned reason);

#endif
