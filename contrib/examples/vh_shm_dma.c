/* vh_shm_dma: VE DMA to and from a System V shared memory segment of the VH.
 * The VH creates a segment and writes into it; the VE process's DMA engine
 * copies it into VE memory and a changed copy back, through the VEHVA that
 * veo_shmat() registered in the VE process's DMAATB.
 *
 *   cc vh_shm_dma.c $(pkg-config --cflags --libs veo)
 *   ./a.out            # VE node from VE_NODE_NUMBER, else 0
 *
 * On a real VE the segment must be made of huge pages (SHM_HUGETLB at
 * shmget(2)); the emulated DMAATB takes any segment, so this runs on hosts
 * without huge pages reserved. veo_shmget() wants SHM_HUGETLB either way. */
#include <ve_offload.h>
#include <veo_get_arch_info.h>
#include <veo_vedma.h>
#include <veo_vhveshm.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#define SEGMENT_SIZE (4u << 20)
#define VE_PAGE (64u << 20)

static int fail(const char *what) {
    perror(what);
    return 1;
}

/* A key of this process that no segment has yet; the segment in *shmid. */
static key_t create_segment(int *shmid) {
    for (key_t key = (key_t)(0x56480000 | (getpid() & 0xffff));; key += 0x10000) {
        *shmid = shmget(key, SEGMENT_SIZE, IPC_CREAT | IPC_EXCL | 0600);
        if (*shmid >= 0 || errno != EEXIST)
            return key;
    }
}

static int run(struct veo_proc_handle *proc, key_t key, unsigned char *vh) {
    /* Look the segment up by key, as a program that did not create it would. */
    int id = veo_shmget(proc, key, SEGMENT_SIZE, SHM_HUGETLB | 0600);
    if (id < 0)
        return fail("veo_shmget");
    void *vehva_vh = NULL;
    void *at = veo_shmat(proc, id, NULL, 0, &vehva_vh);
    if (at == (void *)-1)
        return fail("veo_shmat");
    printf("segment %d: VEHVA %p in the DMAATB of the VE process\n", id, vehva_vh);

    void *ve = NULL;
    if (veo_posix_memalign_hmem(proc, &ve, VE_PAGE, VE_PAGE) != 0)
        return fail("veo_posix_memalign_hmem");
    uint64_t vehva_ve = veo_register_mem_to_dmaatb(ve, VE_PAGE);
    if (vehva_ve == (uint64_t)-1)
        return fail("veo_register_mem_to_dmaatb");

    /* VH segment -> VE memory. */
    for (size_t i = 0; i < SEGMENT_SIZE; ++i)
        vh[i] = (unsigned char)(i * 13 + 5);
    int rc = veo_dma_post_wait(proc, vehva_ve, (uint64_t)vehva_vh, SEGMENT_SIZE);
    unsigned char probe[64];
    uint64_t vemva = (uint64_t)veo_get_hmem_addr(ve);
    int ok = rc == 0 &&
             veo_read_mem(proc, probe, vemva + SEGMENT_SIZE - sizeof probe, sizeof probe) == 0;
    for (size_t i = 0; ok && i < sizeof probe; ++i)
        ok = probe[i] == (unsigned char)((SEGMENT_SIZE - sizeof probe + i) * 13 + 5);
    printf("VH segment -> VE memory: %u bytes by DMA %s\n", SEGMENT_SIZE, ok ? "match" : "DIFFER");

    /* VE memory -> VH segment, after the VE side changed the first bytes. */
    const char note[] = "written on the VE, moved by VE DMA";
    int back = veo_write_mem(proc, vemva, note, sizeof note) == 0 &&
               veo_dma_post_wait(proc, (uint64_t)vehva_vh, vehva_ve, 64) == 0 &&
               memcmp(vh, note, sizeof note) == 0;
    printf("VE memory -> VH segment: \"%s\" %s\n", (char *)vh, back ? "match" : "DIFFER");

    veo_unregister_mem_from_dmaatb(proc, vehva_ve);
    veo_free_hmem(ve);
    if (veo_shmdt(proc, at) != 0)
        return fail("veo_shmdt");
    return ok && back ? 0 : 1;
}

int main(void) {
    struct veo_proc_handle *proc = veo_proc_create(-1);
    if (proc == NULL)
        return fail("veo_proc_create");
    printf("VE architecture: %d\n", veo_arch_number_sysfs(-1));

    int shmid = -1;
    key_t key = create_segment(&shmid);
    if (shmid < 0)
        return fail("shmget");
    void *vh = shmat(shmid, NULL, 0);
    int rc = vh == (void *)-1 ? fail("shmat") : run(proc, key, vh);
    if (vh != (void *)-1)
        shmdt(vh);
    shmctl(shmid, IPC_RMID, NULL);
    veo_proc_destroy(proc);
    printf("%s\n", rc == 0 ? "vh_shm_dma: OK" : "vh_shm_dma: FAILED");
    return rc;
}
