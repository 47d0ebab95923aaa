/* Operation codes of AVEO's VH shared memory control request (values as in
 * AVEO 3.0.2). veo_vhveshm.h does not need them; they are here so that code
 * written against AVEO that includes this header still compiles. */
#ifndef VEO_VHSHM_DEFS_H_INCLUDED
#define VEO_VHSHM_DEFS_H_INCLUDED

#define VHSHM_GET 1
#define VHSHM_AT 2
#define VHSHM_DT 3

#endif
