"""Rectifiers under stress: when do Leaky ReLU and PReLU beat ReLU on CIFAR-10?"""
