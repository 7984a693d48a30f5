/* The few compile-time knobs of the vmkernel. Everything else is detected at run time. */
#ifndef CONFIG_H
#define CONFIG_H

#define CONFIG_MAX_CPUS		64	/* per-CPU blocks are static */
#define CONFIG_LOG_DEFAULT	3	/* LOG_INFO */
#define CONFIG_TIMER_HZ		100	/* periodic LAPIC tick */
#define CONFIG_AP_START_TIMEOUT_MS 1000	/* per AP, after the second SIPI */

#endif
