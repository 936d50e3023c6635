# A thin wrapper over CMake: the README's two commands.
BUILD ?= build
DEBIAN_PACKAGES := cmake gcc make libtcc-dev tcc libcmocka-dev libopenblas-dev \
                   zlib1g-dev dataset-fashion-mnist

.PHONY: all run test deps build sanitize clean

all: build

# Installs the Debian packages that are missing (only those), as root or with sudo.
deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

build: deps
	cmake -S . -B $(BUILD) >/dev/null
	cmake --build $(BUILD) -j2

run: build
	$(BUILD)/examples/seed_autograd
	$(BUILD)/examples/fashion_mnist --epochs 2

test: build
	cd $(BUILD) && ctest --output-on-failure -j2

# The whole suite under AddressSanitizer and UndefinedBehaviorSanitizer.
sanitize: deps
	cmake -S . -B build-asan -DNABLA_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build build-asan -j2
	cd build-asan && ctest --output-on-failure -j2

clean:
	rm -rf $(BUILD) build-asan
