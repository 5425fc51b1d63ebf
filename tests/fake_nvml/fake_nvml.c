/* A stand-in for libnvidia-ml.so.1: the few calls topology/nvml.c makes,
 * answering as the machine FAKE_NVML_SCENARIO names:
 *   hgx8        8x H100 HGX: every GPU's 18 links go to NVSwitches
 *   vm2         2x H200 in a VM: links to switches the VM cannot see
 *               (remote PCI FFFFFFFF:FF:FF.0)
 *   gb200       one GB200 tray: 4 GPUs on NVSwitch, fabric clique known
 *   gb200-zero  fabric info with an all-zero cluster UUID, links down
 *   bridge4     4 PCIe GPUs with NVLink bridges between 0-1 and 2-3
 *   initfail    nvmlInit_v2 fails (no driver)
 * Devices are listed in an order unlike PCI order, as real NVML may be
 * when CUDA_DEVICE_ORDER differs, so that matching by bus id is tested. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pci_info {
	char bus_id_legacy[16];
	unsigned int domain, bus, device, pci_device_id, pci_subsystem_id;
	char bus_id[32];
};

struct fabric_v2 {
	unsigned int version;
	unsigned char cluster_uuid[16];
	int status;
	unsigned int clique_id;
	unsigned char state;
	unsigned int health_mask;
};

enum { OK = 0, ERR_INVALID = 2, ERR_NOT_SUPPORTED = 3, ERR_DRIVER = 9 };

struct scenario {
	const char *name;
	int ngpus;
	const char *bus[8];
	int links;	    /* active links per GPU */
	int remote_type;    /* 0 GPU, 2 switch */
	const char *remote; /* remote bus id for switch links */
	int fabric;	    /* 0 none, 1 clique, 2 zero uuid */
	int init_error;
};

static const struct scenario scenarios[] = {
	{ "hgx8",
	  8,
	  { "00000000:DB:00.0", "00000000:18:00.0", "00000000:2A:00.0",
	    "00000000:3A:00.0", "00000000:5D:00.0", "00000000:9A:00.0",
	    "00000000:AB:00.0", "00000000:BA:00.0" },
	  18,
	  2,
	  "00000000:05:00.0",
	  0,
	  0 },
	{ "vm2",
	  2,
	  { "00000000:00:07.0", "00000000:00:06.0" },
	  18,
	  2,
	  "FFFFFFFF:FF:FF.0",
	  0,
	  0 },
	{ "gb200",
	  4,
	  { "00000008:01:00.0", "00000009:01:00.0", "00000018:01:00.0",
	    "00000019:01:00.0" },
	  18,
	  2,
	  "FFFFFFFF:FF:FF.0",
	  1,
	  0 },
	{ "gb200-zero",
	  4,
	  { "00000008:01:00.0", "00000009:01:00.0", "00000018:01:00.0",
	    "00000019:01:00.0" },
	  0,
	  2,
	  "FFFFFFFF:FF:FF.0",
	  2,
	  0 },
	{ "bridge4",
	  4,
	  { "00000000:3B:00.0", "00000000:1A:00.0", "00000000:AF:00.0",
	    "00000000:86:00.0" },
	  4,
	  0,
	  NULL,
	  0,
	  0 },
	{ "initfail", 0, { NULL }, 0, 0, NULL, 0, ERR_DRIVER },
};

static const struct scenario *cur;

/* Devices are handles into the bus table: index + 1, never NULL. */
static int dev_index(void *dev)
{
	long i = (long)(size_t)dev - 1;

	return cur && i >= 0 && i < cur->ngpus ? (int)i : -1;
}

int nvmlInit_v2(void)
{
	const char *s = getenv("FAKE_NVML_SCENARIO");

	cur = NULL;
	for (size_t i = 0; s && i < sizeof(scenarios) / sizeof(*scenarios); i++)
		if (!strcmp(s, scenarios[i].name))
			cur = &scenarios[i];
	if (!cur)
		return ERR_DRIVER;
	return cur->init_error;
}

int nvmlShutdown(void)
{
	return OK;
}

const char *nvmlErrorString(int r)
{
	return r == ERR_DRIVER ? "Driver Not Loaded" : "Unknown Error";
}

int nvmlDeviceGetCount_v2(unsigned int *n)
{
	*n = cur ? (unsigned int)cur->ngpus : 0;
	return OK;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned int i, void **dev)
{
	if (!cur || i >= (unsigned int)cur->ngpus)
		return ERR_INVALID;
	*dev = (void *)(size_t)(i + 1);
	return OK;
}

static void fill_pci(struct pci_info *p, const char *bus)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->bus_id, sizeof(p->bus_id), "%s", bus);
	sscanf(bus, "%x:%x:%x", &p->domain, &p->bus, &p->device);
}

int nvmlDeviceGetPciInfo_v3(void *dev, struct pci_info *p)
{
	int i = dev_index(dev);

	if (i < 0)
		return ERR_INVALID;
	fill_pci(p, cur->bus[i]);
	return OK;
}

int nvmlDeviceGetNvLinkState(void *dev, unsigned int link, int *active)
{
	int i = dev_index(dev);

	if (i < 0 || link >= 18)
		return ERR_INVALID;
	*active = (int)link < cur->links;
	return OK;
}

/* bridge4: GPU pairs 0-1 and 2-3 (in PCI order: 1a-3b, 86-af). */
static const char *bridge_peer(int i)
{
	static const char *const peer[] = { "00000000:1A:00.0",
					    "00000000:3B:00.0",
					    "00000000:86:00.0",
					    "00000000:AF:00.0" };
	return peer[i];
}

int nvmlDeviceGetNvLinkRemotePciInfo_v2(void *dev, unsigned int link,
					struct pci_info *p)
{
	int i = dev_index(dev);

	if (i < 0 || (int)link >= cur->links)
		return ERR_INVALID;
	fill_pci(p, cur->remote ? cur->remote : bridge_peer(i));
	return OK;
}

int nvmlDeviceGetNvLinkRemoteDeviceType(void *dev, unsigned int link, int *type)
{
	int i = dev_index(dev);

	if (i < 0 || (int)link >= cur->links)
		return ERR_INVALID;
	*type = cur->remote_type;
	return OK;
}

int nvmlDeviceGetName(void *dev, char *name, unsigned int len)
{
	int i = dev_index(dev);

	if (i < 0)
		return ERR_INVALID;
	snprintf(name, len, "%s",
		 !strcmp(cur->name, "vm2")	   ? "NVIDIA H200"
		 : !strncmp(cur->name, "gb200", 5) ? "NVIDIA GB200"
						   : "NVIDIA H100 80GB HBM3");
	return OK;
}

int nvmlDeviceGetGpuFabricInfoV(void *dev, struct fabric_v2 *f)
{
	int i = dev_index(dev);

	if (i < 0)
		return ERR_INVALID;
	if (!cur->fabric)
		return ERR_NOT_SUPPORTED;
	if ((f->version >> 24) != 2 || (f->version & 0xffffff) != sizeof(*f))
		return ERR_INVALID;
	memset(f->cluster_uuid, 0, sizeof(f->cluster_uuid));
	if (cur->fabric == 1)
		for (int k = 0; k < 16; k++)
			f->cluster_uuid[k] = (unsigned char)(0xa0 + k);
	f->status = OK;
	f->clique_id = 32766;
	f->state = 3; /* completed */
	f->health_mask = 0;
	return OK;
}
