#include "core/assembler.h"

#include <string.h>

bool asm_add(struct assembler *a, uint32_t off, uint32_t len)
{
    if (len == 0)
        return true;
    uint32_t start = off, end = off + len;
    /* Find the ranges that touch or overlap [start, end) and merge them. */
    unsigned i = 0;
    while (i < a->n && a->r[i].end < start)
        i++;
    unsigned j = i;
    while (j < a->n && a->r[j].start <= end) {
        if (a->r[j].start < start)
            start = a->r[j].start;
        if (a->r[j].end > end)
            end = a->r[j].end;
        j++;
    }
    unsigned merged = j - i; /* ranges replaced by one */
    if (merged == 0 && a->n == ASM_MAX_RANGES)
        return false;
    if (merged == 0) {
        memmove(&a->r[i + 1], &a->r[i], (a->n - i) * sizeof(a->r[0]));
        a->n++;
    } else if (merged > 1) {
        memmove(&a->r[i + 1], &a->r[j], (a->n - j) * sizeof(a->r[0]));
        a->n -= merged - 1;
    }
    a->r[i].start = start;
    a->r[i].end = end;
    return true;
}

uint32_t asm_take_front(struct assembler *a)
{
    if (a->n == 0 || a->r[0].start != 0)
        return 0;
    uint32_t len = a->r[0].end;
    memmove(&a->r[0], &a->r[1], (a->n - 1) * sizeof(a->r[0]));
    a->n--;
    for (unsigned i = 0; i < a->n; i++) {
        a->r[i].start -= len;
        a->r[i].end -= len;
    }
    return len;
}

void asm_advance(struct assembler *a, uint32_t n)
{
    unsigned k = 0;
    for (unsigned i = 0; i < a->n; i++) {
        if (a->r[i].end <= n)
            continue; /* entirely below the new start */
        a->r[k].start = a->r[i].start > n ? a->r[i].start - n : 0;
        a->r[k].end = a->r[i].end - n;
        k++;
    }
    a->n = k;
}
