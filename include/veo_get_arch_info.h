/* Architecture number of a VE node (AVEO 3.0.2's veo_get_arch_info.h). On a
 * real VH it is read from sysfs (the macros below name the file); the
 * emulated nodes are all VE1-class. */
#ifndef VEO_GET_ARCH_INFO_H_INCLUDED
#define VEO_GET_ARCH_INFO_H_INCLUDED

#define CLASS_VE "/sys/class/ve"  /* directory of the VE devices */
#define ARCH_FILE "ve_arch_class" /* per-device file holding "ve<N>" */
#define ARCH_FILE_BSIZE 16        /* bytes read from ARCH_FILE */
#define ARCH_PATH_BSIZE 64        /* room for CLASS_VE "/ve<node>/" ARCH_FILE */

#ifdef __cplusplus
extern "C" {
#endif

/** Architecture number of VE node ve_node_number (-1: the first node): 1 for
 * every emulated node (as veo_get_ve_arch()), -1 if there is no such node. */
int veo_arch_number_sysfs(int ve_node_number);

#ifdef __cplusplus
}
#endif
#endif
